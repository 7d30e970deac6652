"""Demo data: a few institutes, enterprises, a broker agency and the platform, with fixed demo API keys, and a small
living market (published listings, one in an auction, and open demands) made through the services."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

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
from marketplace.accounts.principal import Principal
from marketplace.accounts.repository import AccountsRepository
from marketplace.events.service import EventRecorder
from marketplace.kit.credit_code import make_credit_code
from marketplace.kit.etag import etag
from marketplace.kit.time import utcnow
from marketplace.reference.patents import compute_check_digit


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


def _patent(body: str) -> str:
    """A ZL-form patent number with its check digit (body: year, kind digit, 7-digit serial)."""
    return f"ZL{body}.{compute_check_digit(body)}"


# Published listings (owner's e-mail, body as a client would POST it).
DEMO_LISTINGS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "tto@dhut.example",
        {
            "title_zh": "高效钙钛矿太阳能电池低温制备技术",
            "title_en": "Low-temperature fabrication of efficient perovskite solar cells",
            "summary": "两步溶液法低温成膜，小组件光电转换效率超过百分之二十，适合柔性基底。",
            "description": "成果已完成中试，形成从前驱体配制、成膜到封装的成套工艺，可与现有镀膜产线兼容。",
            "keywords": ["钙钛矿", "光伏", "柔性电池"],
            "field_codes": ["6.3"],
            "trl": 6,
            "inventors": ["李明", "王芳"],
            "ip_assets": [
                {
                    "type": "invention_patent",
                    "number": _patent("201910234567"),
                    "title": "一种钙钛矿薄膜的低温制备方法",
                    "holder": "东湖理工大学",
                    "filing_date": "2019-03-01",
                    "grant_date": "2021-06-15",
                    "legal_status": "granted",
                },
                {
                    "type": "invention_patent",
                    "number": _patent("202010456789"),
                    "title": "一种钙钛矿电池的封装结构",
                    "holder": "东湖理工大学",
                    "filing_date": "2020-05-20",
                    "legal_status": "pending",
                },
            ],
            "trade_modes": ["transfer", "exclusive_licence"],
            "pricing": {"kind": "range", "min_fen": 3_000_000_00, "max_fen": 8_000_000_00},
            "region_code": "420100",
            "holder_state_funded": True,
            "contact_name": "技术转移办公室",
            "contact_email": "tto@dhut.example",
            "confidential_description": "前驱体配比与退火曲线（签署保密协议后可见）。",
            "nda_text": "接收方对保密信息负有保密义务，期限五年。",
        },
    ),
    (
        "tto@dhut.example",
        {
            "title_zh": "工业机器人视觉定位与抓取系统",
            "title_en": "Vision-guided positioning and grasping for industrial robots",
            "summary": "基于深度学习的零件识别与六自由度位姿估计，定位精度 0.1 毫米。",
            "description": "适用于汽车零部件、3C 电子装配线的无序抓取，已在两家企业试用。",
            "keywords": ["机器人", "机器视觉", "智能制造"],
            "field_codes": ["2.1"],
            "trl": 7,
            "inventors": ["张伟"],
            "ip_assets": [
                {
                    "type": "software_copyright",
                    "number": "2022SR0123456",
                    "title": "机器人视觉定位软件V2.0",
                    "holder": "东湖理工大学",
                    "legal_status": "granted",
                }
            ],
            "trade_modes": ["non_exclusive_licence", "technical_service"],
            "pricing": {"kind": "negotiable"},
            "region_code": "420100",
            "holder_state_funded": True,
        },
    ),
    (
        "admin@nsiam.example",
        {
            "title_zh": "石墨烯导热膜连续化制备工艺",
            "title_en": "Continuous production of graphene thermal films",
            "summary": "卷对卷连续成膜，面内导热系数大于 1500 W/mK，用于手机与服务器散热。",
            "keywords": ["石墨烯", "导热膜", "散热"],
            "field_codes": ["3.2"],
            "trl": 6,
            "ip_assets": [
                {
                    "type": "invention_patent",
                    "number": _patent("202110987654"),
                    "title": "一种石墨烯导热膜的连续制备方法",
                    "holder": "南山先进材料研究院",
                    "filing_date": "2021-08-09",
                    "grant_date": "2023-02-17",
                    "legal_status": "granted",
                }
            ],
            "trade_modes": ["transfer"],
            "pricing": {
                "kind": "auction",
                "start_price_fen": 1_000_000_00,
                "increment_fen": 50_000_00,
                "reserve_fen": 1_500_000_00,
                "deposit_fen": 100_000_00,
            },
            "region_code": "440305",
            "holder_state_funded": False,
        },
    ),
    (
        "admin@nsiam.example",
        {
            "title_zh": "高镍三元锂电池正极材料包覆改性技术",
            "title_en": "Coating modification of high-nickel cathode materials",
            "summary": "原子层沉积包覆，循环一千次容量保持率提升至百分之九十以上。",
            "keywords": ["锂电池", "正极材料", "新能源"],
            "field_codes": ["5.1"],
            "trl": 5,
            "trade_modes": ["exclusive_licence", "equity_investment"],
            "pricing": {"kind": "fixed", "price_fen": 12_000_000_00},
            "region_code": "440305",
            "holder_state_funded": False,
        },
    ),
    (
        "cto@yunfan.example",
        {
            "title_zh": "污水处理膜生物反应器节能控制方法",
            "summary": "按进水负荷动态调节曝气，吨水电耗降低百分之二十五。",
            "keywords": ["污水处理", "节能", "环保"],
            "field_codes": ["7.2"],
            "trl": 8,
            "trade_modes": ["non_exclusive_licence"],
            "pricing": {"kind": "negotiable"},
            "region_code": "440300",
        },
    ),
)

# Open demands (owner's e-mail, body); deadlines are counted from the day the demo is seeded.
DEMO_DEMANDS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "cto@yunfan.example",
        {
            "title": "寻求高精度机器人视觉定位技术",
            "description": "用于汽车零部件无序抓取，定位精度优于 0.2 毫米，需支持现有产线改造。",
            "field_codes": ["2.1"],
            "budget_min_fen": 500_000_00,
            "budget_max_fen": 3_000_000_00,
            "trade_modes": ["non_exclusive_licence", "technical_service"],
            "min_trl": 6,
            "region_code": "440300",
            "wants_broker_contact": True,
        },
    ),
    (
        "rd@ovne.example",
        {
            "title": "寻求钙钛矿光伏组件量产工艺",
            "description": "拟建设百兆瓦级钙钛矿组件中试线，寻求成熟的制备与封装工艺。",
            "field_codes": ["6.3"],
            "budget_min_fen": 2_000_000_00,
            "budget_max_fen": 10_000_000_00,
            "trade_modes": ["transfer", "exclusive_licence"],
            "min_trl": 5,
            "region_code": "420100",
        },
    ),
    (
        "rd@ovne.example",
        {
            "title": "寻求动力电池正极材料改性技术合作",
            "field_codes": ["5.1"],
            "trade_modes": ["co_development"],
            "region_code": "420100",
        },
    ),
)
DEMO_DEMAND_DAYS = 90
DEMO_AUCTION_DAYS = 14


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
    if created:
        # The market comes with the organisations: seeded once, on the run that created them.
        await seed_demo_market(session)
    return creds, created


async def _principal(repo: AccountsRepository, email: str) -> Principal:
    """The demo user behind a demo key, as the services see callers."""
    key = await repo.key_by_hash(hash_key(demo_key(email)))
    user = await repo.user_by_email(email)
    assert key is not None and user is not None, f"demo user {email} is seeded first"
    org = await repo.get_organization(user.organization_id)
    assert org is not None
    return Principal(
        user_id=user.id,
        organization_id=org.id,
        organization_kind=org.kind,
        organization_verified=True,
        role=user.role,
        scopes=frozenset(ApiKeyScope(s) for s in key.scopes),
        api_key_id=key.id,
    )


async def seed_demo_market(session: AsyncSession) -> None:
    """Publish the demo listings (the auction-priced one in an open auction) and post the demo demands."""
    from marketplace.deals.schemas import OpenAuctionInput
    from marketplace.deals.service import DealsService
    from marketplace.demands.schemas import DemandCreate
    from marketplace.demands.service import DemandsService
    from marketplace.listings.models import PricingKind
    from marketplace.listings.schemas import ListingCreate
    from marketplace.listings.service import ListingsService

    repo = AccountsRepository(session)
    platform = await _principal(repo, "ops@exchange.example")
    listings = ListingsService(session)
    for email, body in DEMO_LISTINGS:
        owner = await _principal(repo, email)
        bundle = await listings.create(owner, ListingCreate.model_validate(body))
        listing_id = bundle.listing.id
        bundle = await listings.submit(owner, listing_id, if_match=etag(bundle.listing.version))
        bundle = await listings.approve(platform, listing_id, if_match=etag(bundle.listing.version))
        if bundle.listing.pricing_kind == PricingKind.auction:
            ends = utcnow() + timedelta(days=DEMO_AUCTION_DAYS)
            await DealsService(session).open_auction(owner, OpenAuctionInput(listing_id=listing_id, ends_at=ends))
    demands = DemandsService(session)
    deadline = date.today() + timedelta(days=DEMO_DEMAND_DAYS)
    for email, body in DEMO_DEMANDS:
        owner = await _principal(repo, email)
        await demands.create(owner, DemandCreate.model_validate({**body, "deadline": deadline.isoformat()}))
