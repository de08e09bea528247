//! What the time bank found, in words a coordinator reads: the conflict queue and the reasons a
//! new entry is refused, in English and Chinese. One place for these words, so the command
//! line, the bindings and the core's own errors say the same thing, and none of them prints a
//! Rust `Debug` of an enum.

use super::conflict::ConflictKind;
use super::services::ServiceProblem;
use super::standing::{Hold, KeyProblem, Rule};
use crate::lang::Lang;

/// Minutes as hours, exactly, with a true minus sign before a debt: `−22.5 h` where a tenth of
/// an hour is exact, else `−50 min` or `−1 h 5 min` (Chinese: `小时`, `分钟`).
pub fn hours(minutes: i64, lang: Lang) -> String {
    let sign = if minutes < 0 { "−" } else { "" };
    let abs = minutes.unsigned_abs();
    let (h, min) = (lang.pick("h", "小时"), lang.pick("min", "分钟"));
    if abs.is_multiple_of(6) {
        format!("{sign}{:.1} {h}", abs as f64 / 60.0)
    } else if abs < 60 {
        format!("{sign}{abs} {min}")
    } else {
        format!("{sign}{} {h} {} {min}", abs / 60, abs % 60)
    }
}

/// Why a claim's service does not support it.
pub fn service_problem(problem: ServiceProblem, lang: Lang) -> &'static str {
    use ServiceProblem as P;
    match problem {
        P::Missing => lang.pick(
            "no counted service record has that id",
            "没有这条有效的服务记录",
        ),
        P::Voided => lang.pick("the service record was voided", "该服务记录已作废"),
        P::NotProvider => lang.pick(
            "the claimant did not give that service",
            "该服务不是申领人提供的",
        ),
        P::WrongElder => lang.pick(
            "the claim names another elder than the service",
            "申领写的老人与服务记录不符",
        ),
        P::NotTimeBank => lang.pick(
            "the service was not given for time-bank hours",
            "该服务不是以时间银行方式提供的",
        ),
        P::ExceedsDuration => lang.pick(
            "the claim asks for more minutes than the service lasted",
            "申领的分钟数超过了服务时长",
        ),
    }
}

/// What is wrong with a signing device, as the end of "the device …".
pub fn key_problem(problem: KeyProblem, lang: Lang) -> &'static str {
    use KeyProblem as K;
    match problem {
        K::Unknown => lang.pick("is not enrolled in the circle", "未在本圈登记"),
        K::Revoked => lang.pick("had been revoked by then", "当时已被撤销"),
        K::OutsideValidity => lang.pick(
            "was outside its certificate's validity then",
            "当时不在证书有效期内",
        ),
        K::OtherMember => lang.pick("is certified for someone else", "登记给了别人"),
    }
}

/// A time-bank rule, as what the entry did wrong.
pub fn rule(rule: Rule, lang: Lang) -> &'static str {
    use Rule as R;
    match rule {
        R::GiftNotToRelative => lang.pick(
            "hours may be given only to a member of the same household",
            "时间只能赠与同户家人",
        ),
        R::GiftCap => lang.pick(
            "the gifts this year would pass the circle's cap",
            "今年的赠与将超过本圈上限",
        ),
        R::RedemptionAge => lang.pick(
            "the member is younger than the redemption age (or their birth year is unknown)",
            "未到兑换年龄（或出生年份不详）",
        ),
        R::SelfConfirmation => {
            lang.pick("a member confirmed their own claim", "本人确认了自己的申领")
        }
        R::ConfirmerNotRecipientSide => lang.pick(
            "the confirmer is not on the recipient's side",
            "确认人不是受助方",
        ),
        R::DecisionNotByCoordinator => lang.pick(
            "a decision by someone who is not a coordinator",
            "作出决定的人不是协理员",
        ),
        R::WrongTarget => lang.pick(
            "it confirms or decides on the wrong kind of entry",
            "确认或决定的对象类型不对",
        ),
        R::TransferNotByCoordinator => lang.pick(
            "hours moved between circles by someone who is not a coordinator",
            "转移时间的人不是协理员",
        ),
    }
}

/// Why an entry would be held for the coordinator.
pub fn hold(hold: &Hold, lang: Lang) -> String {
    match hold {
        Hold::Key(p) => format!(
            "{}{}",
            lang.pick("this device ", "本设备"),
            key_problem(*p, lang)
        ),
        Hold::Service(p) => service_problem(*p, lang).to_string(),
        Hold::Duplicate => lang
            .pick(
                "another claim for the same service (or transfer-in of the same hours) came first",
                "同一服务已有人先申领（或同一笔转入时间已经转入过）",
            )
            .to_string(),
        Hold::Rule(r) => rule(*r, lang).to_string(),
    }
}

/// One item of the coordinator's queue as a sentence about `who` (the member's name where this
/// device may show it, else their id).
pub fn conflict(kind: &ConflictKind, who: &str, lang: Lang) -> String {
    use ConflictKind as C;
    let zh = lang == Lang::Zh;
    match kind {
        C::Fork { seq } if zh => {
            format!("{who}的手机把两条不同的记录都签为第 {seq} 号（恢复了备份？手机被复制？）")
        }
        C::Fork { seq } => format!(
            "{who}'s phone signed two different entries as number {seq} (a restored backup? a cloned phone?)"
        ),
        C::BrokenLink { seq } if zh => {
            format!("{who}的第 {seq} 号记录接不上前一条（缺了一条，或被改动过）")
        }
        C::BrokenLink { seq } => format!(
            "{who}'s entry number {seq} does not follow the entry before it (one is missing, or was altered)"
        ),
        C::Overdraft {
            balance_after_minutes,
        } => {
            let left = hours(*balance_after_minutes, lang);
            match lang {
                Lang::Zh => format!("{who}：这笔支出会使余额变为 {left}"),
                Lang::En => format!("{who}: spending would leave {left}"),
            }
        }
        C::ClaimService { service, problem } => {
            let why = service_problem(*problem, lang);
            match lang {
                Lang::Zh => format!("{who}为服务 {service} 申领了时间，但{why}"),
                Lang::En => format!("{who} claimed hours for service {service}, but {why}"),
            }
        }
        C::DuplicateClaim { service } if zh => format!("{who}再次申领了服务 {service}"),
        C::DuplicateClaim { service } => {
            format!("{who} claimed service {service} a second time")
        }
        C::UntrustedKey { key, problem } => {
            let why = key_problem(*problem, lang);
            match lang {
                Lang::Zh => format!("{who}的记录由设备 {key} 签名，该设备{why}"),
                Lang::En => format!("{who}'s entry is signed by device {key}, which {why}"),
            }
        }
        C::RuleBroken { rule: r } => {
            let why = rule(*r, lang);
            match lang {
                Lang::Zh => format!("{who}的记录违反规则：{why}"),
                Lang::En => format!("{who}'s entry breaks a rule: {why}"),
            }
        }
        C::AwaitingApproval if zh => format!("{who}已确认的申领等待协理员批准"),
        C::AwaitingApproval => format!("{who}'s confirmed claim awaits a coordinator's approval"),
        C::DuplicateTransfer { transfer_out } if zh => {
            format!("{who}从别处转来的时间（转出记录 {transfer_out}）被转入了第二次")
        }
        C::DuplicateTransfer { transfer_out } => format!(
            "{who}'s hours from another circle (transfer-out {transfer_out}) were opened here a second time"
        ),
        C::TransferDoubleSpend { transfer_out } if zh => format!(
            "{who}的时间已转到别的村（转出记录 {transfer_out}），又在本村花了一次：重复支出"
        ),
        C::TransferDoubleSpend { transfer_out } => format!(
            "{who}'s hours were moved to another circle (transfer-out {transfer_out}) and spent here as well: a double spend"
        ),
    }
}

impl std::fmt::Display for Hold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hold(self, Lang::En))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overdraft_reads_as_hours_left_with_a_true_minus() {
        let kind = ConflictKind::Overdraft {
            balance_after_minutes: -1350,
        };
        assert_eq!(
            conflict(&kind, "张阿姨", Lang::En),
            "张阿姨: spending would leave −22.5 h"
        );
        assert_eq!(
            conflict(&kind, "张阿姨", Lang::Zh),
            "张阿姨：这笔支出会使余额变为 −22.5 小时"
        );
    }

    #[test]
    fn hours_are_exact() {
        assert_eq!(hours(90, Lang::En), "1.5 h");
        assert_eq!(hours(-50, Lang::En), "−50 min");
        assert_eq!(hours(-65, Lang::Zh), "−1 小时 5 分钟");
        assert_eq!(hours(0, Lang::En), "0.0 h");
    }

    #[test]
    fn a_fork_names_the_phone_and_the_number() {
        let said = conflict(&ConflictKind::Fork { seq: 19 }, "张阿姨", Lang::En);
        assert_eq!(
            said,
            "张阿姨's phone signed two different entries as number 19 (a restored backup? a cloned phone?)"
        );
        assert!(conflict(&ConflictKind::Fork { seq: 19 }, "张阿姨", Lang::Zh).contains("第 19 号"));
    }

    #[test]
    fn no_sentence_carries_a_debug_form() {
        let hold = Hold::Rule(Rule::GiftCap).to_string();
        assert!(!hold.contains("GiftCap"), "{hold}");
        let said = conflict(
            &ConflictKind::RuleBroken {
                rule: Rule::SelfConfirmation,
            },
            "李",
            Lang::En,
        );
        assert!(!said.contains("SelfConfirmation"), "{said}");
        let transfer_out = crate::ids::Id::from_bytes([7; 16]);
        for kind in [
            ConflictKind::DuplicateTransfer { transfer_out },
            ConflictKind::TransferDoubleSpend { transfer_out },
        ] {
            for lang in [Lang::En, Lang::Zh] {
                let said = conflict(&kind, "李", lang);
                assert!(said.contains(&transfer_out.to_string()), "{said}");
                assert!(!said.contains("Transfer"), "{said}");
            }
        }
        let said = rule(Rule::TransferNotByCoordinator, Lang::En);
        assert!(said.contains("coordinator"), "{said}");
    }
}
