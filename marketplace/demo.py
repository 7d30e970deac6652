"""Demo data: a few institutes, enterprises, a broker agency and the platform, with fixed demo API keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.keys import KEY_PREFIX, hash_key
from marketplace.accounts.models import (
    ApiKey,
    ApiKeyScope,
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.accounts.repository import AccountsRepository
from marketplace.events.service import EventRecorder
from marketplace.kit.credit_code import make_credit_code
from marketplace.kit.time import utcnow


@dataclass(frozen=True)
class DemoOrg:
    """One demo organisation and its users (email, name, role)."""

    kind: OrganizationKind
    name_zh: str
    name_en: str
    credit_prefix: str
    region_code: str
    users: tuple[tuple[str, str, Role], ...]


DEMO_ORGS: tuple[DemoOrg, ...] = (
    DemoOrg(
        OrganizationKind.platform,
        "科学城技术交易中心",
        "Science City Technology Exchange",
        "12440300MB2C39458",
        "440300",
        (
            ("ops@exchange.example", "平台运营", Role.owner),
            ("reviewer@exchange.example", "审核员", Role.member),
        ),
    ),
    DemoOrg(
        OrganizationKind.institute,
        "东湖理工大学",
        "Donghu University of Technology",
        "12420000MB1A00012",
        "420100",
        (
            ("tto@dhut.example", "技术转移办公室", Role.owner),
            ("prof.li@dhut.example", "李教授", Role.member),
            ("viewer@dhut.example", "访客账号", Role.viewer),
        ),
    ),
    DemoOrg(
        OrganizationKind.institute,
        "南山先进材料研究院",
        "Nanshan Institute of Advanced Materials",
        "12440300MB1B00027",
        "440305",
        (("admin@nsiam.example", "成果转化部", Role.owner),),
    ),
    DemoOrg(
        OrganizationKind.enterprise,
        "深圳云帆智能装备有限公司",
        "Yunfan Intelligent Equipment Co., Ltd.",
        "91440300MA5D00034",
        "440300",
        (("cto@yunfan.example", "王总工", Role.owner), ("buyer@yunfan.example", "采购专员", Role.admin)),
    ),
    DemoOrg(
        OrganizationKind.enterprise,
        "武汉光谷新能源科技有限公司",
        "Optics Valley New Energy Technology Co., Ltd.",
        "91420100MA4K00041",
        "420100",
        (("rd@ovne.example", "研发中心", Role.owner),),
    ),
    DemoOrg(
        OrganizationKind.broker_agency,
        "湾区技术经纪事务所",
        "Bay Area Technology Brokers",
        "91440300MA5E00055",
        "440300",
        (
            ("lead@baybroker.example", "陈经纪人", Role.owner),
            ("broker@baybroker.example", "赵经纪人", Role.member),
        ),
    ),
)


def demo_key(email: str) -> str:
    """The fixed demo API key of a demo user (demo data only; never use in production)."""
    return KEY_PREFIX + "demo_" + hashlib.sha256(f"marketplace-demo:{email}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DemoCredential:
    """A demo user's key, for printing."""

    organization: str
    kind: str
    email: str
    role: str
    key: str


async def seed_demo(session: AsyncSession) -> tuple[list[DemoCredential], int]:
    """Create whatever demo rows are missing; return every demo credential and how many orgs were new."""
    repo = AccountsRepository(session)
    events = EventRecorder(session)
    created = 0
    creds: list[DemoCredential] = []
    for spec in DEMO_ORGS:
        code = make_credit_code(spec.credit_prefix)
        org = await repo.organization_by_credit_code(code)
        if org is None:
            created += 1
            org = Organization(
                kind=spec.kind,
                name_zh=spec.name_zh,
                name_en=spec.name_en,
                credit_code=code,
                region_code=spec.region_code,
                verification_status=VerificationStatus.verified,
                verified_at=utcnow(),
            )
            await repo.add(org)
            events.audit(
                actor=None,
                organization_id=org.id,
                action="organization.seeded",
                target_type="organization",
                target_id=org.id,
                diff={"name_zh": [None, org.name_zh]},
            )
        for email, name, role in spec.users:
            user = await repo.user_by_email(email)
            if user is None:
                user = User(organization_id=org.id, email=email, display_name=name, role=role)
                await repo.add(user)
            key = demo_key(email)
            if await repo.key_by_hash(hash_key(key)) is None:
                await repo.add(
                    ApiKey(
                        user_id=user.id,
                        name="demo key",
                        prefix=key[:12],
                        key_hash=hash_key(key),
                        scopes=[ApiKeyScope.read.value, ApiKeyScope.write.value],
                    )
                )
            creds.append(DemoCredential(spec.name_zh, spec.kind.value, email, role.value, key))
    return creds, created
