import Foundation
import XCTest
@testable import Carebank

let minute: Int64 = 60_000
let hour = 60 * minute
let day = 24 * hour

/// 08:00 China Standard Time yesterday: the start of the working day the tests record.
func yesterdayMorning() -> Int64 {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = chinaTime
    let today = calendar.startOfDay(for: Date())
    let morning = calendar.date(byAdding: .hour, value: 8 - 24, to: today)!
    return morning.carebankMs
}

/// Device secrets in memory (the app uses `KeychainKeyStore`).
final class MemoryKeyStore: SecureKeyStore, @unchecked Sendable {
    private let lock = NSLock()
    private var secrets: [String: Data] = [:]

    func load(name: String) throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return secrets[name]
    }

    func save(name: String, secret: Data) throws {
        lock.lock()
        defer { lock.unlock() }
        secrets[name] = secret
    }
}

/// A member of the circle, their phone's store, and the name its device key is kept under.
struct Member {
    let id: String
    let name: String
    let store: CareStore
    var keyName = ""
}

/// A village led by a town centre: a village point, its coordinator, and the members and elders
/// each test adds. Every phone is an in-memory store with its own device key. A fixed `circleId`
/// and `centreSecret` give the circle a relay was started for (see `RelayTests`).
final class TestVillage {
    let keys = MemoryKeyStore()
    let circle: CareCircle
    let centre: CareStore
    let pointId = newId()
    private(set) var coordinator: Member!
    private var phones = 0

    init(circleId: String? = nil, centreSecret: Data? = nil) throws {
        if let secret = centreSecret {
            try keys.save(name: "centre", secret: secret)
        }
        circle = CareCircle(circleId: circleId ?? newId(), centreKey: try devicePublicKey(keys: keys, keyName: "centre"))
        centre = try CareStore.openInMemory(circle: circle, keys: keys, keyName: "centre")
        let centreSite = newId()
        _ = try centre.addSite(site: Site(siteId: centreSite, kind: .centre, name: "龙泉镇养老服务中心"))
        _ = try centre.addSite(site: Site(siteId: pointId, kind: .villagePoint, name: "石桥村互助养老点", parent: centreSite))
        coordinator = try enrol(by: centre, role: .coordinator, name: "李站长")
        _ = try coordinator.store.mergeFrom(other: centre)
    }

    /// A new phone for a member enrolled by the coordinator, holding the circle's records.
    func member(_ role: Role, _ name: String) throws -> Member {
        let member = try enrol(by: coordinator.store, role: role, name: name)
        try sync(member)
        return member
    }

    /// The member's phone pulls what the coordinator holds.
    func sync(_ member: Member) throws {
        _ = try member.store.mergeFrom(other: coordinator.store)
    }

    /// The coordinator enrols an elder at the village point; returns the elder's id.
    func elder(
        _ name: String,
        cadenceDays: UInt32 = 7,
        entitledHours: UInt32 = 0,
        purposes: [ConsentPurpose] = [.careRecords, .healthObservations, .location, .districtReporting]
    ) throws -> String {
        let elder = Elder(
            elderId: newId(),
            siteId: pointId,
            name: name,
            birthYear: 1940,
            groups: entitledHours > 0 ? [.extremePoverty] : [],
            careLevel: .mild,
            visitCadenceDays: cadenceDays,
            monthlyEntitledHours: entitledHours,
            responsibleMember: nil,
            consent: Consent(givenBy: "本人", relation: .elder, givenAtMs: Date().carebankMs, purposes: purposes)
        )
        _ = try coordinator.store.enrolElder(elder: elder)
        return elder.elderId
    }

    /// A copy of `member`'s phone with the same device key (a cloned phone, a restored backup).
    func clonePhone(_ member: Member) throws -> CareStore {
        let clone = try CareStore.openInMemory(circle: circle, keys: keys, keyName: member.keyName)
        _ = try clone.mergeFrom(other: member.store)
        return clone
    }

    /// A phone that is not enrolled (yet).
    func strangerPhone() throws -> CareStore {
        try open("stranger")
    }

    /// Enrols a phone opened elsewhere as a caregiver's: its next merge brings it the circle's keys.
    func enrolPhone(_ phone: CareStore, name: String) throws {
        _ = try coordinator.store.enrol(enrolment: Enrolment(memberId: newId(), name: name, role: .caregiver,
                                                             siteId: pointId, deviceKey: try phone.deviceKey()))
    }

    private func open(_ prefix: String) throws -> CareStore {
        phones += 1
        return try CareStore.openInMemory(circle: circle, keys: keys, keyName: "\(prefix)-\(phones)")
    }

    private func enrol(by: CareStore, role: Role, name: String) throws -> Member {
        let store = try open("device")
        let enrolment = Enrolment(memberId: newId(), name: name, role: role, siteId: pointId, deviceKey: try store.deviceKey())
        _ = try by.enrol(enrolment: enrolment)
        return Member(id: enrolment.memberId, name: name, store: store, keyName: "device-\(phones)")
    }
}

/// Asserts that `call` throws the `CareError` that `matches` accepts.
func assertCareError<T>(
    _ call: @autoclosure () throws -> T,
    _ matches: (CareError) -> Bool,
    file: StaticString = #filePath,
    line: UInt = #line
) {
    XCTAssertThrowsError(try call(), file: file, line: line) { error in
        guard let care = error as? CareError else {
            return XCTFail("not a CareError: \(error)", file: file, line: line)
        }
        XCTAssertTrue(matches(care), "unexpected \(care)", file: file, line: line)
    }
}
