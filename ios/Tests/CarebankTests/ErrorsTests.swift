import XCTest
@testable import Carebank

/// Errors reach Swift as `CareError` cases a UI can act on, never as crashes. Mirrors ErrorsTest.kt.
final class ErrorsTests: XCTestCase {
    private let start = yesterdayMorning()

    private func visit(_ elder: String, _ by: Member) -> Visit {
        Visit(elderId: elder, caregiverId: by.id, checkInMs: start, checkOutMs: start + 30 * minute)
    }

    private func field(_ call: @autoclosure () throws -> Any) -> String? {
        do {
            _ = try call()
        } catch let CareError.InvalidInput(field, _) {
            return field
        } catch {
            return nil
        }
        return nil
    }

    func testBadInputNamesTheFieldAtFault() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        var backwards = visit(elder, wang)
        backwards.checkOutMs = start - minute
        var beforeEpoch = visit(elder, wang)
        beforeEpoch.checkInMs = -1
        XCTAssertEqual(field(try wang.store.recordVisit(visit: visit("张大爷", wang))), "elder_id")
        XCTAssertEqual(field(try wang.store.recordVisit(visit: backwards)), "check_out_ms")
        XCTAssertEqual(field(try wang.store.recordVisit(visit: beforeEpoch)), "check_in_ms")
        XCTAssertEqual(field(try wang.store.personTimes(month: "2026-13")), "month")
        XCTAssertEqual(field(try wang.store.overdueVisits(nowMs: Int64.max, purpose: .care)), "now_ms")
    }

    func testUnknownRecordsAreNotFound() throws {
        let village = try TestVillage()
        let wang = try village.member(.caregiver, "王芳")
        let unknown = newId()
        assertCareError(try wang.store.recordVisit(visit: visit(unknown, wang))) {
            if case let .NotFound(what, id) = $0 { return what == "elder" && id == unknown } else { return false }
        }
        assertCareError(try wang.store.get(recordId: newId(), purpose: .care)) {
            if case .NotFound = $0 { return true } else { return false }
        }
    }

    func testRolesAndEnrolmentAreEnforced() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let li = Elder(elderId: newId(), siteId: village.pointId, name: "李奶奶", birthYear: 1941, groups: [], careLevel: .able,
                       visitCadenceDays: 7, monthlyEntitledHours: 0, responsibleMember: nil,
                       consent: Consent(givenBy: "本人", relation: .elder, givenAtMs: start, purposes: [.careRecords]))
        assertCareError(try wang.store.enrolElder(elder: li)) {
            if case let .NotAuthorised(reason) = $0 { return reason.contains("coordinator") } else { return false }
        }
        let stranger = try village.strangerPhone()
        _ = try stranger.mergeFrom(other: village.coordinator.store)
        assertCareError(try stranger.recordVisit(visit: visit(elder, wang))) {
            if case .NotAuthorised = $0 { return true } else { return false }
        }
    }

    func testHealthObservationsNeedTheEldersConsent() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷", purposes: [.careRecords])
        let wang = try village.member(.caregiver, "王芳")
        var health = visit(elder, wang)
        health.observations = Observations(health: .poor)
        assertCareError(try wang.store.recordVisit(visit: health)) {
            if case let .ConsentMissing(purpose) = $0 { return purpose.contains("health") } else { return false }
        }
        var mood = visit(elder, wang)
        mood.observations = Observations(mood: .good)
        XCTAssertNoThrow(try wang.store.recordVisit(visit: mood))
    }

    func testAFailingKeychainIsAKeyStorageError() throws {
        final class LockedKeychain: SecureKeyStore, @unchecked Sendable {
            func load(name: String) throws -> Data? { throw PlatformError.Failed(reason: "Keychain is locked") }
            func save(name: String, secret: Data) throws { throw PlatformError.Failed(reason: "Keychain is locked") }
        }
        struct AppBug: Error {}
        final class BuggyKeychain: SecureKeyStore, @unchecked Sendable {
            func load(name: String) throws -> Data? { throw AppBug() }
            func save(name: String, secret: Data) throws {}
        }
        let village = try TestVillage()
        assertCareError(try CareStore.openInMemory(circle: village.circle, keys: LockedKeychain(), keyName: "device")) {
            if case let .KeyStorage(reason) = $0 { return reason.contains("Keychain is locked") } else { return false }
        }
        // An error the protocol does not declare is still an error, not a crash.
        assertCareError(try CareStore.openInMemory(circle: village.circle, keys: BuggyKeychain(), keyName: "device")) {
            if case .KeyStorage = $0 { return true } else { return false }
        }
        let truncated = MemoryKeyStore()
        try truncated.save(name: "device", secret: Data([1, 2, 3]))
        assertCareError(try CareStore.openInMemory(circle: village.circle, keys: truncated, keyName: "device")) {
            if case .KeyStorage = $0 { return true } else { return false }
        }
    }
}
