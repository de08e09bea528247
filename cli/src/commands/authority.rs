//! The authority hierarchy from the command line: a province root, the districts it certifies,
//! the town centres and officials a district certifies, and a folder importing its own chain.
//!
//! An authority's key is kept in the folder's `keys/` under `authority-<level>`; the chain that
//! certifies it, with the province root it was verified against, in `authority-<level>.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use carebank_core::identity::authority::{
    AuthorityChain, AuthorityLevel, AuthorityStatement, VerifiedAuthority,
};
use carebank_core::identity::{DeviceKey, PublicKey};
use serde::{Deserialize, Serialize};

use crate::StoreOpt;
use crate::args::parse_time;
use crate::device_dir::DeviceDir;

/// How long a certificate holds when `--valid-until` is not given: five years.
const DEFAULT_VALIDITY_MS: u64 = 5 * 365 * 86_400_000;

/// `carebank authority`.
#[derive(clap::Args)]
pub struct AuthorityArgs {
    #[command(subcommand)]
    command: AuthorityCommand,
}

#[derive(clap::Subcommand)]
enum AuthorityCommand {
    /// Make a province root key and its own certificate in this folder; prints the root key.
    NewRoot(NewRootArgs),
    /// Print (making it on first use) this folder's key for a level: district or official.
    Key(KeyArgs),
    /// Certify a key one level below this folder's authority; writes the chain to --out.
    Certify(CertifyArgs),
    /// Verify a chain file against the province root and keep it as this folder's own.
    Import(ImportArgs),
}

/// `carebank authority new-root`.
#[derive(clap::Args)]
struct NewRootArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The province's name, e.g. 浙江省.
    #[arg(long)]
    name: String,
    /// Its region code, e.g. 33.
    #[arg(long)]
    region: String,
    /// The root's certificate holds until then (CST); five years by default.
    #[arg(long)]
    valid_until: Option<String>,
}

/// `carebank authority key`.
#[derive(clap::Args)]
struct KeyArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// district or official.
    #[arg(long)]
    level: String,
}

/// `carebank authority certify`.
#[derive(clap::Args)]
struct CertifyArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// district (by a province), town or official (by a district).
    #[arg(long)]
    level: String,
    /// The key certified: a district's or official's `authority key`, a town centre's device key.
    #[arg(long)]
    subject: String,
    /// Its name, e.g. 临安区, 青山镇, 王科长.
    #[arg(long)]
    name: String,
    /// Its region code (the administrative division code).
    #[arg(long)]
    region: String,
    /// From then (CST); now by default.
    #[arg(long)]
    valid_from: Option<String>,
    /// Until then (CST, exclusive); five years after --valid-from by default.
    #[arg(long)]
    valid_until: Option<String>,
    /// Where to write the chain file.
    #[arg(long)]
    out: PathBuf,
}

/// `carebank authority import`.
#[derive(clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    store: StoreOpt,
    /// The chain file (from `authority certify`).
    file: PathBuf,
    /// The province root key the chain must verify under.
    #[arg(long)]
    province_root: String,
}

/// What `authority-<level>.json` holds.
#[derive(Serialize, Deserialize)]
pub struct KeptChain {
    /// The province root the chain was verified against.
    pub province_root: PublicKey,
    /// The chain from the province down to this folder's key.
    pub chain: AuthorityChain,
}

/// Runs `carebank authority …`.
pub fn authority(a: AuthorityArgs) -> Result<()> {
    match a.command {
        AuthorityCommand::NewRoot(a) => new_root(a),
        AuthorityCommand::Key(a) => {
            let level = parse_level(&a.level)?;
            if !matches!(level, AuthorityLevel::District | AuthorityLevel::Official) {
                bail!(
                    "--level must be district or official (a province makes its key with new-root, a town centre's key is its device key)"
                );
            }
            println!("{}", level_key(&a.store.dir()?, level)?.public_key());
            Ok(())
        }
        AuthorityCommand::Certify(a) => certify(a),
        AuthorityCommand::Import(a) => import(a),
    }
}

fn parse_level(text: &str) -> Result<AuthorityLevel> {
    Ok(match text {
        "province" => AuthorityLevel::Province,
        "district" => AuthorityLevel::District,
        "town" => AuthorityLevel::Town,
        "official" => AuthorityLevel::Official,
        other => bail!("unknown authority level {other:?} (district, town or official)"),
    })
}

/// This folder's key for an authority level (made on first use).
pub fn level_key(dir: &DeviceDir, level: AuthorityLevel) -> Result<DeviceKey> {
    dir.named_key(&format!("authority-{}", level.as_str()))
}

fn chain_file(dir: &DeviceDir, level: AuthorityLevel) -> PathBuf {
    dir.file(&format!("authority-{}.json", level.as_str()))
}

/// The chain this folder keeps for `level`, re-verified now against its province root.
pub fn kept_chain(
    dir: &DeviceDir,
    level: AuthorityLevel,
) -> Result<(KeptChain, VerifiedAuthority)> {
    let path = chain_file(dir, level);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "this folder holds no {} certificate ({}): import one with `carebank authority import`",
            level.as_str(),
            path.display()
        )
    })?;
    let kept: KeptChain =
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    let verified = kept
        .chain
        .verify(kept.province_root, crate::clock::now_ms())
        .with_context(|| format!("the chain in {} no longer verifies", path.display()))?;
    Ok((kept, verified))
}

fn keep_chain(dir: &DeviceDir, level: AuthorityLevel, kept: &KeptChain) -> Result<()> {
    let path = chain_file(dir, level);
    std::fs::write(&path, serde_json::to_string_pretty(kept)? + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

fn validity(from: Option<&str>, until: Option<&str>) -> Result<(u64, u64)> {
    let from = match from {
        Some(text) => parse_time(text)?,
        None => crate::clock::now_ms(),
    };
    let until = match until {
        Some(text) => parse_time(text)?,
        None => from + DEFAULT_VALIDITY_MS,
    };
    Ok((from, until))
}

fn new_root(a: NewRootArgs) -> Result<()> {
    let dir = a.store.dir()?;
    if chain_file(&dir, AuthorityLevel::Province).exists() {
        bail!("{} already holds a province root", a.store.store.display());
    }
    let key = level_key(&dir, AuthorityLevel::Province)?;
    let (valid_from_ms, valid_until_ms) = validity(None, a.valid_until.as_deref())?;
    let root = key.public_key();
    let own = AuthorityStatement {
        level: AuthorityLevel::Province,
        subject: root,
        name: a.name,
        region: a.region,
        issuer: root,
        valid_from_ms,
        valid_until_ms,
    }
    .sign(&key)?;
    let kept = KeptChain {
        province_root: root,
        chain: AuthorityChain::new(vec![own]),
    };
    keep_chain(&dir, AuthorityLevel::Province, &kept)?;
    println!("{root}");
    Ok(())
}

fn certify(a: CertifyArgs) -> Result<()> {
    let level = parse_level(&a.level)?;
    if level == AuthorityLevel::Province {
        bail!("a province is not certified: make it with `carebank authority new-root`");
    }
    let dir = a.store.dir()?;
    let issuer_level = level.issuer_level();
    let (kept, _) = kept_chain(&dir, issuer_level)?;
    let issuer = level_key(&dir, issuer_level)?;
    let subject: PublicKey = a
        .subject
        .parse()
        .map_err(|e| anyhow::anyhow!("--subject: {e}"))?;
    let (valid_from_ms, valid_until_ms) =
        validity(a.valid_from.as_deref(), a.valid_until.as_deref())?;
    let certificate = AuthorityStatement {
        level,
        subject,
        name: a.name,
        region: a.region,
        issuer: issuer.public_key(),
        valid_from_ms,
        valid_until_ms,
    }
    .sign(&issuer)?;
    let chain = kept.chain.extended(certificate);
    chain
        .verify(kept.province_root, valid_from_ms)
        .context("the new certificate does not fit its issuer's chain (check the dates)")?;
    write_chain(&a.out, &chain)?;
    println!(
        "certified {} {subject} under province {}; chain written to {}",
        level.as_str(),
        kept.province_root,
        a.out.display()
    );
    Ok(())
}

fn write_chain(path: &Path, chain: &AuthorityChain) -> Result<()> {
    std::fs::write(path, chain.encode()?).with_context(|| format!("writing {}", path.display()))
}

fn import(a: ImportArgs) -> Result<()> {
    let dir = a.store.dir()?;
    let province_root: PublicKey = a
        .province_root
        .parse()
        .map_err(|e| anyhow::anyhow!("--province-root: {e}"))?;
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let chain = AuthorityChain::decode(&bytes)
        .with_context(|| format!("{} is not an authority chain", a.file.display()))?;
    let verified = chain
        .verify(province_root, crate::clock::now_ms())
        .with_context(|| format!("{} does not verify", a.file.display()))?;
    let mine = match verified.level {
        AuthorityLevel::Town => dir.circle()?.centre_key,
        AuthorityLevel::Province => bail!("a province root is made with new-root, not imported"),
        level => level_key(&dir, level)?.public_key(),
    };
    if verified.subject.key != mine {
        bail!(
            "the chain certifies {} {}, not this folder's key {mine}",
            verified.level.as_str(),
            verified.subject.key
        );
    }
    keep_chain(
        &dir,
        verified.level,
        &KeptChain {
            province_root,
            chain,
        },
    )?;
    let district = verified.district.map(|d| d.name).unwrap_or_default();
    println!(
        "imported: {} {} ({}) of district {district}",
        verified.level.as_str(),
        verified.subject.name,
        verified.subject.region
    );
    Ok(())
}
