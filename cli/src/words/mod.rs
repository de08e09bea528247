//! People by name, and the time bank's findings in words, for the coordinator at the command
//! line: `--ids` keeps the ids, `--lang zh` says it in Chinese.
//!
//! Names appear only where the core says this device shows them (the centre's and a
//! coordinator's: [`CareStore::shows_names`]); elsewhere, and with `--ids`, lists show ids as
//! before. Members' names come from their sealed profiles; elders' names only from calls that
//! log the read in the access log. The sentences themselves are the core's
//! (`carebank_core::ledger::words`), so the bindings and the command line say the same thing;
//! the review lists' (chains, access log, consent conflicts) are in [`review`].

pub mod cards;
pub mod review;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use carebank_core::CareStore;
use carebank_core::identity::PublicKey;
use carebank_core::ids::Id;
use carebank_core::lang::Lang;
use carebank_core::ledger::{Balance, Conflict, words};

/// `--ids`: ids in place of names.
#[derive(clap::Args)]
pub struct IdsOpt {
    /// Show members and elders by id instead of by name (names show on the centre's and
    /// coordinators' devices only).
    #[arg(long)]
    pub ids: bool,
}

/// `--lang`: the language of what is printed.
#[derive(clap::Args)]
pub struct LangOpt {
    /// en or zh.
    #[arg(long, default_value = "en")]
    pub lang: String,
}

impl LangOpt {
    /// The language asked for.
    pub fn parse(&self) -> Result<Lang> {
        self.lang.parse().context("--lang")
    }
}

/// How this command names people.
pub struct Names {
    /// Whether names are shown at all (this device may, and `--ids` was not given).
    shown: bool,
    members: BTreeMap<Id, String>,
    /// Whose each enrolled device is (revoked ones too), where names are shown.
    devices: BTreeMap<PublicKey, Id>,
}

impl Names {
    /// The names this device shows, unless `ids` asks for ids (`--ids`).
    pub fn of(store: &CareStore, ids: bool) -> Result<Names> {
        let shown = !ids && store.shows_names()?;
        if !shown {
            return Ok(Names {
                shown,
                members: BTreeMap::new(),
                devices: BTreeMap::new(),
            });
        }
        let devices = store
            .trusted_keys()?
            .into_iter()
            .filter_map(|k| Some((k.device_key, k.member_id?)))
            .collect();
        Ok(Names {
            shown,
            members: store.member_names()?,
            devices,
        })
    }

    /// Whether people are shown by name.
    pub fn shown(&self) -> bool {
        self.shown
    }

    /// A member's name, where one is shown and known.
    fn name_of(&self, member: Id) -> Option<&str> {
        self.members.get(&member).map(String::as_str)
    }

    /// Whether `member` is shown by name.
    pub fn knows(&self, member: Id) -> bool {
        self.name_of(member).is_some()
    }

    /// A device: its member's phone by name ("张阿姨's phone"), or "device KEY" where no
    /// name is shown or known.
    pub fn device(&self, key: PublicKey, lang: Lang) -> String {
        match self.devices.get(&key).and_then(|m| self.name_of(*m)) {
            Some(name) => match lang {
                Lang::En => format!("{name}'s phone"),
                Lang::Zh => format!("{name}的手机"),
            },
            None => format!("{} {key}", lang.pick("device", "设备")),
        }
    }

    /// A member: their name, or their id where no name is shown or known.
    pub fn member(&self, member: Id) -> String {
        self.name_of(member)
            .map_or_else(|| member.to_string(), str::to_string)
    }

    /// An elder whose name a logged call returned: the name, or the id where no name is shown.
    pub fn elder(&self, elder: Id, name: &str) -> String {
        if self.shown && !name.is_empty() {
            name.to_string()
        } else {
            elder.to_string()
        }
    }
}

fn hours(minutes: i64) -> f64 {
    minutes as f64 / 60.0
}

/// One member's balance on one line (with the hours moved between circles, when any were).
pub fn balance_line(b: &Balance, names: &Names) -> String {
    let moved = if b.transferred_in_minutes != 0 || b.transferred_out_minutes != 0 {
        format!(
            ", moved in {:.1}, moved out {:.1}",
            hours(b.transferred_in_minutes),
            hours(b.transferred_out_minutes)
        )
    } else {
        String::new()
    };
    format!(
        "{}  {:>7.1} h available  (earned {:.1}, received {:.1}, redeemed {:.1}, given {:.1}, pending {:.1}{moved})",
        names.member(b.member),
        hours(b.available_minutes),
        hours(b.earned_minutes),
        hours(b.received_minutes),
        hours(b.redeemed_minutes),
        hours(b.given_minutes),
        hours(b.pending_minutes)
    )
}

/// One item of the coordinator's queue: what happened, in words, and the entries to decide on
/// (their ids: `carebank reconcile --decide ID`).
pub fn conflict_lines(c: &Conflict, names: &Names, lang: Lang) -> String {
    let who = names.name_of(c.member).map_or_else(
        || format!("{} {}", lang.pick("member", "成员"), c.member),
        str::to_string,
    );
    let awaiting: Vec<String> = c.awaiting.iter().map(Id::to_string).collect();
    format!(
        "{}\n    {}{}",
        words::conflict(&c.kind, &who, lang),
        lang.pick("awaiting a decision on: ", "待决定的记录："),
        awaiting.join(", ")
    )
}

/// The queue's heading.
pub fn queue_heading(count: usize, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{count} items need a coordinator's decision"),
        Lang::Zh => format!("{count} 项待协理员决定"),
    }
}
