import XCTest
@testable import Carebank

/// A village coordinator reconciles what the caregivers' phones recorded. Mirrors CoordinatorTest.kt.
final class CoordinatorTests: XCTestCase {
    private let start = yesterdayMorning()
    private var month: String { carebankMonth(of: Date(carebankMs: start)) }

    private func cleaning(_ by: Member, _ elder: String, _ at: Int64, _ minutes: Int64) -> Service {
        Service(elderId: elder, providerId: by.id, startedMs: at, durationMinutes: minutes, funding: .government, detail: .cleaning)
    }

    func testEntitlementUseIsReconciledAcrossCaregiversPhones() throws {
        let village = try TestVillage()
        let within = try village.elder("陈奶奶", entitledHours: 20)
        let under = try village.elder("赵爷爷", entitledHours: 30)
        let over = try village.elder("孙奶奶", entitledHours: 10)
        let a = try village.member(.caregiver, "王芳")
        let b = try village.member(.caregiver, "刘强")
        _ = try a.store.recordService(service: cleaning(a, within, start, 600))
        _ = try b.store.recordService(service: cleaning(b, within, start + day / 2, 400))
        _ = try b.store.recordService(service: cleaning(b, under, start, 120))
        _ = try a.store.recordService(service: cleaning(a, over, start + hour, 700))

        let coordinator = village.coordinator.store
        XCTAssertTrue(try coordinator.entitlementUse(month: month, purpose: .report).allSatisfy { $0.usedMinutes == 0 })
        _ = try coordinator.mergeFrom(other: a.store)
        _ = try coordinator.mergeFrom(other: b.store)

        let use = Dictionary(uniqueKeysWithValues: try coordinator.entitlementUse(month: month, purpose: .report).map { ($0.elderId, $0) })
        XCTAssertEqual(use[within]?.usedMinutes, 1000)
        XCTAssertEqual(use[within]?.status, .withinQuota)
        XCTAssertEqual(use[under]?.status, .underServed)
        XCTAssertEqual(use[over]?.status, .overQuota)
        XCTAssertEqual(try coordinator.personTimes(month: month).services.first { $0.kind == .cleaning }?.count, 4)
        XCTAssertTrue(try coordinator.rejections().isEmpty)
    }

    func testALostPhonesLaterRecordsAreKeptButNotCounted() throws {
        let village = try TestVillage()
        let elder = try village.elder("张大爷")
        let lost = try village.member(.caregiver, "刘强")
        _ = try lost.store.recordVisit(visit: Visit(elderId: elder, caregiverId: lost.id, checkInMs: start, checkOutMs: start + 30 * minute))
        Thread.sleep(forTimeInterval: 0.005)

        let coordinator = village.coordinator.store
        // The coordinator holds the phone's records so far, then revokes it: what the phone
        // signs after them never counts, whatever its clock says.
        _ = try coordinator.mergeFrom(other: lost.store)
        _ = try coordinator.revoke(revocation: Revocation(deviceKey: try lost.store.deviceKey(), effectiveMs: Date().carebankMs, reason: "手机丢失"))
        Thread.sleep(forTimeInterval: 0.005)
        // Whoever has the phone now has not heard of the revocation, and records a visit.
        let forged = try lost.store.recordVisit(visit: Visit(elderId: elder, caregiverId: lost.id, checkInMs: start + hour, checkOutMs: start + 90 * minute))
        _ = try coordinator.mergeFrom(other: lost.store)

        XCTAssertEqual(try coordinator.personTimes(month: month).visits, 1)
        XCTAssertEqual(try coordinator.untrustedRecords().map(\.recordId), [forged])
        let lostKey = try lost.store.deviceKey()
        let revoked = try coordinator.trustedKeys().first { $0.deviceKey == lostKey }
        XCTAssertEqual(revoked?.memberId, lost.id)
        XCTAssertNotNil(revoked?.revokedFromMs)

        // Once the phone hears of the revocation it can no longer write.
        try village.sync(lost)
        assertCareError(try lost.store.recordVisit(visit: Visit(elderId: elder, caregiverId: lost.id, checkInMs: start + 2 * hour,
                                                                 checkOutMs: start + 150 * minute))) {
            if case .NotAuthorised = $0 { return true } else { return false }
        }
    }
}
