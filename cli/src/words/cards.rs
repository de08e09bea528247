//! The code checks of printed cards in words (decision 0019), in English and Chinese: what the
//! coordinator's device found of each code an elder showed. Elders and services by id (an
//! elder's name reaches a person only through a logged call).

use carebank_core::domain::{CodeCheck, CodeVerdict};
use carebank_core::lang::Lang;
use carebank_core::time::Month;

use crate::args::cst_date;

/// The list's heading: how many of the month's code confirmations are flagged.
pub fn checks_heading(month: Month, flagged: usize, all: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{flagged} of {all} card-code confirmations in {month} flagged"),
        Lang::Zh => format!("{month} 共 {all} 次卡码确认，{flagged} 次存疑"),
    }
}

/// A verdict's word.
pub fn verdict(v: CodeVerdict, lang: Lang) -> &'static str {
    match (v, lang) {
        (CodeVerdict::Valid, Lang::En) => "valid",
        (CodeVerdict::Reused, Lang::En) => "reused",
        (CodeVerdict::OutOfOrder, Lang::En) => "out of order",
        (CodeVerdict::WrongElder, Lang::En) => "wrong elder",
        (CodeVerdict::Withdrawn, Lang::En) => "withdrawn card",
        (CodeVerdict::Unchecked, Lang::En) => "not checkable here",
        (CodeVerdict::Valid, Lang::Zh) => "有效",
        (CodeVerdict::Reused, Lang::Zh) => "重复使用",
        (CodeVerdict::OutOfOrder, Lang::Zh) => "顺序颠倒",
        (CodeVerdict::WrongElder, Lang::Zh) => "非本人卡码",
        (CodeVerdict::Withdrawn, Lang::Zh) => "卡已作废",
        (CodeVerdict::Unchecked, Lang::Zh) => "本机无法核验",
    }
}

/// One check: the verdict, the service and what was found.
pub fn check(c: &CodeCheck, lang: Lang) -> String {
    let date = cst_date(c.started_ms);
    let (code, service, elder) = (&c.code, c.record_id, c.elder_id);
    let place = match (c.card_id, c.counter, lang) {
        (Some(card), Some(n), Lang::En) => format!("No. {n} of card {card}"),
        (Some(card), Some(n), Lang::Zh) => format!("卡 {card} 第 {n} 号"),
        _ => String::new(),
    };
    let earlier = c.earlier.map(|e| e.to_string()).unwrap_or_default();
    let found = match (c.verdict, lang) {
        (CodeVerdict::Valid, Lang::En) => format!("is {place}"),
        (CodeVerdict::Valid, Lang::Zh) => format!("为{place}"),
        (CodeVerdict::Reused, Lang::En) => {
            format!("is {place}, already used by service {earlier}")
        }
        (CodeVerdict::Reused, Lang::Zh) => format!("为{place}，已由服务 {earlier} 使用"),
        (CodeVerdict::OutOfOrder, Lang::En) => {
            format!("is {place}, before a later code used by service {earlier}")
        }
        (CodeVerdict::OutOfOrder, Lang::Zh) => {
            format!("为{place}，早于服务 {earlier} 已用的后面号码")
        }
        (CodeVerdict::WrongElder, Lang::En) if !place.is_empty() => {
            format!("is {place}, another elder's")
        }
        (CodeVerdict::WrongElder, Lang::Zh) if !place.is_empty() => {
            format!("为{place}，是其他老人的卡")
        }
        (CodeVerdict::WrongElder, Lang::En) => "is on none of this elder's cards".into(),
        (CodeVerdict::WrongElder, Lang::Zh) => "不在该老人的任何一张卡上".into(),
        (CodeVerdict::Withdrawn, Lang::En) => {
            format!("is {place}, withdrawn before the service")
        }
        (CodeVerdict::Withdrawn, Lang::Zh) => format!("为{place}，该卡在服务前已作废"),
        (CodeVerdict::Unchecked, Lang::En) => {
            "is on a card issued on another device, which alone holds its codes".into()
        }
        (CodeVerdict::Unchecked, Lang::Zh) => "所在的卡由其他设备发放，本机没有其密钥".into(),
    };
    let word = verdict(c.verdict, lang);
    match lang {
        Lang::En => {
            format!("{word:<14} service {service}, elder {elder}, {date}: code {code} {found}")
        }
        Lang::Zh => format!("{word}  服务 {service}，老人 {elder}，{date}：卡码 {code} {found}"),
    }
}
