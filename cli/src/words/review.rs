//! The coordinator's review lists in words: the device chains, the access log and the records
//! made after a consent was withdrawn, in English and Chinese, members by name where this
//! device shows them (see [`Names`]) and by id elsewhere and with `--ids`.

use carebank_core::domain::{AccessPurpose, ConsentPurpose, ConsentState};
use carebank_core::ids::Id;
use carebank_core::lang::Lang;
use carebank_core::store::{AccessEntry, ChainProblem, ConsentConflict};

use super::Names;
use crate::args::cst_date;

/// The chain problems' heading.
pub fn chains_heading(count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{count} chain problems"),
        Lang::Zh => format!("{count} 处设备链问题"),
    }
}

/// One chain problem: a fork (two records one phone signed at one position) or a gap.
pub fn chain_problem(problem: &ChainProblem, names: &Names, lang: Lang) -> String {
    match problem {
        ChainProblem::Fork {
            author,
            seq,
            records,
        } => {
            let device = names.device(*author, lang);
            let ids: Vec<String> = records.iter().map(Id::to_string).collect();
            let ids = ids.join(", ");
            match lang {
                Lang::En => format!("fork  {device} position {seq}: {ids}"),
                Lang::Zh => format!("分叉  {device} 第 {seq} 号：{ids}"),
            }
        }
        ChainProblem::Gap {
            author,
            from_seq,
            to_seq,
        } => {
            let device = names.device(*author, lang);
            match lang {
                Lang::En => format!("gap   {device} positions {from_seq}..={to_seq} not received"),
                Lang::Zh => format!("缺口  {device} 第 {from_seq}–{to_seq} 号未收到"),
            }
        }
    }
}

/// The heading of the records that do not count.
pub fn untrusted_heading(count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{count} records not counted (author not enrolled, outside its certificate, revoked, or a fork below a revocation)"
        ),
        Lang::Zh => format!(
            "{count} 条记录不计入（签名设备未登记、超出证书有效期、已被撤销，或在撤销位置之下分叉）"
        ),
    }
}

/// The access log's heading.
pub fn access_heading(count: usize, elder: Id, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{count} reads of elder {elder}"),
        Lang::Zh => format!("老人 {elder} 的数据被读取 {count} 次"),
    }
}

/// One read of the access log: when, by which call, why, and who read.
pub fn access_entry(e: &AccessEntry, names: &Names, lang: Lang) -> String {
    let role = e.role.as_deref().map(|r| role(r, lang));
    let device = format!("({} {})", lang.pick("device", "设备"), e.device_key);
    let reader = match (role, e.member_id) {
        (Some(role), Some(member)) if names.knows(member) => {
            format!("{role} {}", names.member(member))
        }
        (Some(role), Some(member)) => format!("{role} {member} {device}"),
        (Some(role), None) => format!("{role} {device}"),
        (None, _) => format!("{} {device}", lang.pick("unknown member", "未知成员")),
    };
    let others = match (e.elder_count, lang) {
        (0 | 1, _) => String::new(),
        (n, Lang::En) => format!(", with {} other elders", n - 1),
        (n, Lang::Zh) => format!("，同时读取另外 {} 位老人", n - 1),
    };
    let untrusted = if e.counted {
        ""
    } else {
        lang.pick("  [device not trusted]", "  ［设备不受信任］")
    };
    let date = cst_date(ms(e.at_ms));
    let call = e.call.as_str();
    match lang {
        Lang::En => format!(
            "{date}  {call:<16} purpose {:<7} {reader}{others}{untrusted}",
            e.purpose.as_str()
        ),
        Lang::Zh => format!(
            "{date}  {call:<16} 用途 {} {reader}{others}{untrusted}",
            access_purpose(e.purpose)
        ),
    }
}

/// The consent conflicts' heading.
pub fn consent_conflicts_heading(count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "{count} records used a purpose the elder had withdrawn or not given (kept; void them if they should not count)"
        ),
        Lang::Zh => {
            format!("{count} 条记录使用了老人已撤回或未同意的用途（已保留；如不应计入请作废）")
        }
    }
}

/// One record made after the elder withdrew (or never gave) the consent it used.
pub fn consent_conflict(c: &ConsentConflict, names: &Names, lang: Lang) -> String {
    let device = names.device(c.author, lang);
    let (id, elder, field) = (c.record_id, c.elder_id, &c.field);
    let on = cst_date(ms(c.at_ms));
    match lang {
        Lang::En => {
            let why = match c.state {
                ConsentState::Withdrawn { at_ms } => format!("withdrawn {}", cst_date(ms(at_ms))),
                ConsentState::NotGiven | ConsentState::Given => "never given".into(),
            };
            format!(
                "{} {id}  elder {elder}  {} ({field}) on {on}: {why}  signed by {device}",
                c.record_type,
                c.purpose.as_str()
            )
        }
        Lang::Zh => {
            let why = match c.state {
                ConsentState::Withdrawn { at_ms } => format!("{} 已撤回", cst_date(ms(at_ms))),
                ConsentState::NotGiven | ConsentState::Given => "从未同意".into(),
            };
            let kind = match c.record_type.as_str() {
                "visit" => "探访",
                "service" => "服务",
                other => other,
            };
            format!(
                "{kind} {id}  老人 {elder}  {}（{field}）{on}：{why}  由{device}签名",
                consent_purpose(c.purpose)
            )
        }
    }
}

/// Unix ms as the signed instant the date functions take.
fn ms(at: u64) -> i64 {
    i64::try_from(at).unwrap_or(i64::MAX)
}

/// A member's role (as the access log names it) in `lang`.
fn role(role: &str, lang: Lang) -> &str {
    match role {
        "centre" => lang.pick("centre", "中心"),
        "coordinator" => lang.pick("coordinator", "协理员"),
        "caregiver" => lang.pick("caregiver", "助老员"),
        "volunteer" => lang.pick("volunteer", "志愿者"),
        "family" => lang.pick("family", "家属"),
        other => other,
    }
}

/// Why data was read, in Chinese.
fn access_purpose(purpose: AccessPurpose) -> &'static str {
    match purpose {
        AccessPurpose::Care => "照护",
        AccessPurpose::Report => "报表",
        AccessPurpose::Export => "导出",
        AccessPurpose::Audit => "审计",
    }
}

/// What a consent covers, in Chinese.
fn consent_purpose(purpose: ConsentPurpose) -> &'static str {
    match purpose {
        ConsentPurpose::CareRecords => "照护记录",
        ConsentPurpose::HealthObservations => "健康观察",
        ConsentPurpose::Location => "位置记录",
        ConsentPurpose::DistrictReporting => "向民政上报",
    }
}
