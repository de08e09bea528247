import XCTest
@testable import Carebank

/// Who read an elder's data, the elder's own copy, and consent withdrawn for one purpose.
/// Mirrors AccessLogTest.kt.
final class AccessLogTests: XCTestCase {
    private let start = yesterdayMorning()

    func testReadsAreLoggedWithTheirPurposeAndReachTheCoordinator() throws {
        let village = try TestVillage()
        let zhang = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        _ = try wang.store.recordVisit(visit: Visit(
            elderId: zhang, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute,
            followUps: [FollowUp(action: "联系村医上门", dueMs: nil)]
        ))
        XCTAssertEqual(try wang.store.openFollowUps(purpose: .care).count, 1)

        let coordinator = village.coordinator.store
        _ = try coordinator.mergeFrom(other: wang.store)
        let log = try coordinator.accessLog(elderId: zhang)
        XCTAssertEqual(log.count, 1)
        XCTAssertEqual(log.first?.call, .openFollowUps)
        XCTAssertEqual(log.first?.purpose, .care)
        XCTAssertEqual(log.first?.memberId, wang.id)
        XCTAssertEqual(log.first?.deviceKey, try wang.store.deviceKey())

        let copy = try coordinator.exportElder(elderId: zhang)
        XCTAssertTrue(copy.contains("张大爷") && copy.contains("联系村医上门"))
        XCTAssertEqual(try coordinator.accessLog(elderId: zhang).map(\.call), [.openFollowUps, .exportElder])
        XCTAssertThrowsError(try coordinator.accessLog(elderId: "not an id"))
        XCTAssertThrowsError(try coordinator.exportElder(elderId: newId()))
    }

    func testAWithdrawnPurposeIsRefusedAndAnOfflineRecordIsFlagged() throws {
        let village = try TestVillage()
        let zhang = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let liu = try village.member(.caregiver, "刘强")
        let health = Observations(health: .poor)
        let coordinator = village.coordinator.store
        _ = try coordinator.changeConsent(change: ConsentChange(
            elderId: zhang, purpose: .healthObservations, action: .withdraw, atMs: start, by: "本人", relation: .elder
        ))
        _ = try wang.store.mergeFrom(other: coordinator)
        XCTAssertThrowsError(try wang.store.recordVisit(visit: Visit(
            elderId: zhang, caregiverId: wang.id, checkInMs: start + hour, checkOutMs: start + 2 * hour, observations: health
        ))) { error in
            guard case let CareError.ConsentMissing(purpose) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(purpose.contains("withdrawn"))
        }
        // Liu's phone has not synced: the visit is kept, counted and flagged for the coordinator.
        let offline = try liu.store.recordVisit(visit: Visit(
            elderId: zhang, caregiverId: liu.id, checkInMs: start + hour, checkOutMs: start + 2 * hour, observations: health
        ))
        _ = try coordinator.mergeFrom(other: liu.store)
        XCTAssertEqual(try coordinator.consentConflicts().map(\.recordId), [offline])
        XCTAssertEqual(try coordinator.consentConflicts().first?.withdrawnAtMs, start)
    }
}
