//! Hours across circles at the command line (通存通兑, decision 0018): a coordinator moves a
//! volunteer's hours out of one town's circle into a transfer statement file; a coordinator of a
//! town in another district opens it once, verified with the province key alone.

mod common;

use std::path::Path;

use carebank_core::identity::DeviceKey;
use carebank_core::identity::authority::{AuthorityChain, AuthorityLevel, AuthorityStatement};
use common::{companionship_claim, enrol, entitled_elder, join, new_circle, ok, run};

/// Device folder `from` hands a bundle file to device folder `to`.
fn carry(dir: &Path, from: &str, to: &str) {
    let file = dir.join("hand.cbundle").display().to_string();
    ok(&["sync", "--store", from, "--export-bundle", &file]);
    ok(&["sync", "--store", to, "--import-bundle", &file]);
}

/// A town centre's new circle named `name` in folder `centre`, with a coordinator in folder
/// `coordinator` holding the centre's records; returns the circle, centre key and centre site.
fn town(dir: &Path, centre: &str, coordinator: &str, name: &str) -> (String, String, String) {
    let (circle, centre_key, site) = new_circle(centre, name);
    let key = join(coordinator, &circle, &centre_key);
    enrol(centre, "站长", "coordinator", &site, &key);
    carry(dir, centre, coordinator);
    (circle, centre_key, site)
}

/// The chain province → district → the town centre `centre_key`, written to `path`.
fn town_chain(province: &DeviceKey, district: &DeviceKey, centre_key: &str, path: &Path) {
    let (from, until) = (1_700_000_000_000, 2_000_000_000_000);
    let certify = |issuer: &DeviceKey, level, subject, name: &str| {
        AuthorityStatement {
            level,
            subject,
            name: name.into(),
            region: "330112".into(),
            issuer: issuer.public_key(),
            valid_from_ms: from,
            valid_until_ms: until,
        }
        .sign(issuer)
        .expect("certify")
    };
    let chain = AuthorityChain::new(vec![
        certify(
            province,
            AuthorityLevel::District,
            district.public_key(),
            "临安区",
        ),
        certify(
            district,
            AuthorityLevel::Town,
            centre_key.parse().expect("centre key"),
            "龙泉镇",
        ),
    ]);
    std::fs::write(path, chain.encode().expect("encode")).expect("write the chain");
}

#[test]
fn a_coordinator_moves_hours_out_and_another_district_opens_them_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (centre_a, coord_a, volunteer, centre_b, coord_b, new_phone) = (
        at("centre-a"),
        at("coordinator-a"),
        at("volunteer"),
        at("centre-b"),
        at("coordinator-b"),
        at("new-phone"),
    );

    // Town A: a coordinator, a volunteer who earns 1.5 h, confirmed.
    let (circle_a, key_a, site_a) = town(dir.path(), &centre_a, &coord_a, "龙泉镇养老服务中心");
    let volunteer_key = join(&volunteer, &circle_a, &key_a);
    let member = enrol(&coord_a, "张阿姨", "volunteer", &site_a, &volunteer_key);
    let member = member.trim();
    let elder = entitled_elder(&coord_a, "刘奶奶", &site_a, &["--birth-year", "1940"]);
    carry(dir.path(), &coord_a, &volunteer);
    let claim = companionship_claim(&volunteer, &elder, &[]);
    carry(dir.path(), &volunteer, &coord_a);
    ok(&["confirm", "--store", &coord_a, "--claim", &claim]);

    // Town B, in another district: a coordinator, and the volunteer's new phone, enrolled
    // under her member id.
    let (circle_b, key_b, site_b) = town(dir.path(), &centre_b, &coord_b, "青山镇养老服务中心");
    let new_key = join(&new_phone, &circle_b, &key_b);
    ok(&[
        "enrol",
        "--store",
        &coord_b,
        "--name",
        "张阿姨",
        "--role",
        "volunteer",
        "--site",
        &site_b,
        "--device-key",
        &new_key,
        "--member-id",
        member,
    ]);

    let province = DeviceKey::from_seed([0x11; 32]);
    let district = DeviceKey::from_seed([0x12; 32]);
    let chain_a = dir.path().join("town-a.chain");
    town_chain(&province, &district, &key_a, &chain_a);
    let file = at("张阿姨.transfer");
    let chain_a = chain_a.display().to_string();
    let transfer_out = |to: &str, more: &[&str]| {
        let args = [
            &["transfer-out", "--store", &coord_a, "--member", member],
            &["--to-circle", to, "--out", &file][..],
            more,
        ]
        .concat();
        run(&args)
    };
    // Not to its own circle (the chain given as a file).
    let (_, _, own) = transfer_out(&circle_a, &["--authority", &chain_a]);
    assert!(own.contains("not this one"), "{own}");
    // To town B, with the town chain the coordinator's folder keeps.
    let province_key = province.public_key().to_string();
    ok(&[
        "authority",
        "import",
        "--store",
        &coord_a,
        &chain_a,
        "--province-root",
        &province_key,
    ]);
    let (_, out, _) = transfer_out(&circle_b, &[]);
    assert!(out.starts_with("moved 1.5 h of member"), "{out}");
    let balance = ok(&["balance", "--store", &coord_a, "--member", member]);
    assert!(balance.contains("0.0 h available"), "{balance}");
    assert!(balance.contains("moved out 1.5"), "{balance}");

    // Town B verifies it with the province key alone, opens it, and only once.
    let transfer_in = |root: &str, more: &[&str]| {
        let args = [
            &[
                "transfer-in",
                &file,
                "--store",
                &coord_b,
                "--province-root",
                root,
            ],
            more,
        ]
        .concat();
        run(&args)
    };
    let (opened, _, wrong) = transfer_in(&district.public_key().to_string(), &[]);
    assert!(!opened && wrong.contains("authority"), "{wrong}");
    let province_key = province.public_key().to_string();
    let (_, verified, _) = transfer_in(&province_key, &["--verify"]);
    assert!(
        verified.starts_with("transfer verified: 1.5 h"),
        "{verified}"
    );
    assert!(
        verified.contains("龙泉镇") && verified.contains("临安区"),
        "{verified}"
    );
    let (_, opened, _) = transfer_in(&province_key, &[]);
    assert!(opened.contains("moved in 1.5"), "{opened}");
    assert!(opened.contains("1.5 h available"), "{opened}");
    let (twice, _, again) = transfer_in(&province_key, &[]);
    assert!(!twice && again.contains("already opened"), "{again}");

    // The volunteer spends the hours on her new phone in town B.
    carry(dir.path(), &coord_b, &new_phone);
    ok(&["redeem", "--store", &new_phone, "--minutes", "60"]);
    let left = ok(&["balance", "--store", &new_phone]);
    assert!(left.contains("0.5 h available"), "{left}");
}
