import XCTest
@testable import Carebank

/// Phones that worked offline merge without losing anything, store to store in one process
/// (bundle files: `SyncTests`; the relay: `RelayTests`). Mirrors MergeTest.kt.
final class MergeTests: XCTestCase {
    private let start = yesterdayMorning()
    private var month: String { carebankMonth(of: Date(carebankMs: start)) }

    private func meal(_ by: Member, _ elder: String, _ at: Int64) -> Service {
        Service(elderId: elder, providerId: by.id, startedMs: at, durationMinutes: 30, funding: .selfPaid,
                detail: .meal(mode: .diningTable, portions: 1))
    }

    func testTwoPhonesThatWorkedOfflineConvergeWhicheverWayTheyMerge() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let a = try village.member(.caregiver, "王芳")
        let b = try village.member(.volunteer, "小李")
        _ = try a.store.recordVisit(visit: Visit(elderId: elder, caregiverId: a.id, checkInMs: start, checkOutMs: start + 30 * minute))
        _ = try a.store.recordService(service: meal(a, elder, start + 30 * minute))
        let fromB = try b.store.recordService(service: meal(b, elder, start + 5 * hour))

        let intoA = try a.store.mergeFrom(other: b.store)
        XCTAssertTrue(intoA.added.contains(fromB))
        XCTAssertTrue(intoA.rejected.isEmpty)
        _ = try b.store.mergeFrom(other: a.store)

        let seenByA = try a.store.personTimes(month: month)
        XCTAssertEqual(seenByA, try b.store.personTimes(month: month))
        XCTAssertEqual(seenByA.total, 3)
        // Merging again changes nothing.
        XCTAssertTrue(try a.store.mergeFrom(other: b.store).added.isEmpty)
        // Reading an elder's month is logged on each phone (an access-log record of its own).
        XCTAssertEqual(try a.store.elderMonth(elderId: elder, month: month, purpose: .care), try b.store.elderMonth(elderId: elder, month: month, purpose: .care))
        XCTAssertEqual(try a.store.mergeFrom(other: b.store).added.count, 1)
    }

    func testProgressIsReportedAndACancelledMergeKeepsItsWorkAndResumes() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        _ = try wang.store.recordVisit(visit: Visit(elderId: elder, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute))
        let coordinator = village.coordinator.store

        var seen: [ProgressUpdate] = []
        try coordinator.mergeFrom(wang.store) { seen.append($0) }
        XCTAssertFalse(seen.isEmpty)
        XCTAssertEqual(seen.map(\.done), (0..<seen.count).map { UInt64($0 + 1) })
        XCTAssertTrue(seen.allSatisfy { $0.total == UInt64(seen.count) && $0.stage == "merge" })

        let phone = try village.strangerPhone()
        let before = CancellationFlag()
        before.cancel()
        assertCareError(try phone.mergeFrom(coordinator, cancel: before) { _ in }) { $0 == .Cancelled }
        XCTAssertEqual(try phone.personTimes(month: month).total, 0)

        // Cancelled after the first document: that document's records are kept.
        let flag = CancellationFlag()
        assertCareError(try phone.mergeFrom(coordinator, cancel: flag) { _ in flag.cancel() }) { $0 == .Cancelled }
        XCTAssertTrue(try phone.trustedKeys().contains { $0.role == "caregiver" })
        // The next merge does the rest, if any: the phone now holds every record. Outside the
        // circle's keys it reads none of the care records (they travel sealed).
        _ = try phone.mergeFrom(other: coordinator)
        XCTAssertTrue(try phone.mergeFrom(other: coordinator).added.isEmpty)
        XCTAssertEqual(try phone.personTimes(month: month).total, 0)
        XCTAssertEqual(try coordinator.personTimes(month: month).total, 1)
    }

    func testAStoreOnDiskKeepsItsRecordsAndItsKeyAcrossRestarts() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = MemoryKeyStore()
        let path = dir.appendingPathComponent("store.db").path

        var deviceKey = ""
        var visitId = ""
        do {
            let phone = try CareStore.open(path: path, circle: village.circle, keys: keys, keyName: "device")
            let member = newId()
            _ = try village.coordinator.store.enrol(enrolment: Enrolment(memberId: member, name: "王芳", role: .caregiver,
                                                                        siteId: village.pointId, deviceKey: try phone.deviceKey()))
            _ = try phone.mergeFrom(other: village.coordinator.store)
            deviceKey = try phone.deviceKey()
            visitId = try phone.recordVisit(visit: Visit(elderId: elder, caregiverId: member, checkInMs: start, checkOutMs: start + 30 * minute))
        }

        let reopened = try CareStore.open(path: path, circle: village.circle, keys: keys, keyName: "device")
        XCTAssertEqual(try reopened.deviceKey(), deviceKey)
        guard case .visit = try reopened.get(recordId: visitId, purpose: .care).body else { return XCTFail("not a visit") }
        XCTAssertEqual(try reopened.personTimes(month: month).visits, 1)
    }
}
