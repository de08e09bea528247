import XCTest
@testable import Carebank

/// Erasure (PIPL Art. 47): the coordinator erases an elder; once a phone has merged the erasure,
/// the elder's notes no longer open there, nothing more is recorded about them, and the month's
/// figures are unchanged. Mirrors ErasureTest.kt.
final class ErasureTests: XCTestCase {
    private let start = yesterdayMorning()

    func testAnErasedEldersNotesAreGoneFromEveryPhoneThatSyncsAndTheFiguresStay() throws {
        let village = try TestVillage()
        let zhang = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let visit = try wang.store.recordVisit(visit: Visit(
            elderId: zhang, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute,
            observations: Observations(note: "右腿浮肿")
        ))
        let coordinator = village.coordinator.store
        _ = try coordinator.mergeFrom(other: wang.store)
        let month = carebankMonth(of: Date(carebankMs: start))
        let before = try coordinator.personTimes(month: month)
        func note(_ phone: CareStore) throws -> String? {
            guard case let .visit(stored) = try phone.get(recordId: visit, purpose: .care).body else {
                XCTFail("not a visit")
                return nil
            }
            return stored.observations.note
        }
        XCTAssertEqual(try note(wang.store), "右腿浮肿")

        XCTAssertThrowsError(try wang.store.eraseElder(elderId: zhang, reason: .elderRequest)) { error in
            guard case CareError.NotAuthorised = error else { return XCTFail("\(error)") }
        }
        _ = try coordinator.eraseElder(elderId: zhang, reason: .elderRequest)
        XCTAssertTrue(try coordinator.isErased(elderId: zhang))
        XCTAssertNil(try note(coordinator))
        XCTAssertFalse(try wang.store.isErased(elderId: zhang), "the phone has not synced yet")

        _ = try wang.store.mergeFrom(other: coordinator)
        XCTAssertTrue(try wang.store.isErased(elderId: zhang))
        XCTAssertNil(try note(wang.store))
        XCTAssertThrowsError(try wang.store.recordVisit(visit: Visit(
            elderId: zhang, caregiverId: wang.id, checkInMs: start + hour, checkOutMs: start + 2 * hour
        ))) { error in
            guard case let CareError.InvalidInput(field, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "elder_id")
        }
        XCTAssertEqual(try coordinator.personTimes(month: month), before)
        XCTAssertEqual(try wang.store.personTimes(month: month), before)
        XCTAssertFalse(try coordinator.exportElder(elderId: zhang).contains("张大爷"))
    }
}
