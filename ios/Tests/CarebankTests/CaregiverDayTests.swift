import XCTest
@testable import Carebank

/// A caregiver's day: visits, meals (助餐), baths (助浴), follow-ups. Mirrors CaregiverDayTest.kt.
final class CaregiverDayTests: XCTestCase {
    private let start = yesterdayMorning()
    private var month: String { carebankMonth(of: Date(carebankMs: start)) }

    private func meal(_ by: Member, _ elder: String, _ at: Int64, _ funding: Funding = .selfPaid) -> Service {
        Service(elderId: elder, providerId: by.id, startedMs: at, durationMinutes: 30, funding: funding,
                detail: .meal(mode: .delivered, portions: 1))
    }

    func testVisitsMealsAndBathsAreCountedAndTheOverdueListFollows() throws {
        let village = try TestVillage()
        let zhang = try village.elder("张大爷", cadenceDays: 7, entitledHours: 30)
        let li = try village.elder("李奶奶", cadenceDays: 7)
        let liu = try village.elder("刘爷爷", cadenceDays: 3)
        let wang = try village.member(.caregiver, "王芳")
        let phone = wang.store

        _ = try phone.recordVisit(visit: Visit(elderId: zhang, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 30 * minute,
                                               observations: Observations(health: .good, mood: .fair)))
        _ = try phone.recordService(service: meal(wang, zhang, start + 30 * minute, .government))
        let visitLi = try phone.recordVisit(visit: Visit(elderId: li, caregiverId: wang.id, checkInMs: start + hour,
                                                         checkOutMs: start + 90 * minute,
                                                         followUps: [FollowUp(action: "送降压药", dueMs: start + day)]))
        _ = try phone.recordService(service: Service(
            elderId: li, providerId: wang.id, startedMs: start + 90 * minute, durationMinutes: 60, funding: .selfPaid,
            detail: .bath(place: .home, safetyChecks: [.waterTemperature, .nonSlipMat], skinCondition: "背部轻微发红")))

        let counts = try phone.personTimes(month: month)
        XCTAssertEqual(counts.visits, 2)
        let byKind = Dictionary(uniqueKeysWithValues: counts.services.map { ($0.kind, $0.count) })
        XCTAssertEqual(byKind[.meal], 1)
        XCTAssertEqual(byKind[.bath], 1)
        XCTAssertEqual(byKind[.cleaning], 0)
        XCTAssertEqual(counts.total, 4)
        XCTAssertEqual(counts.services.first { $0.kind == .bath }?.labelZh, "助浴")

        let zhangMonth = try phone.elderMonth(elderId: zhang, month: month, purpose: .care)
        XCTAssertEqual(zhangMonth.visits.map(\.checkInMs), [start])
        XCTAssertEqual(zhangMonth.services.map(\.kind), [.meal])
        XCTAssertEqual(zhangMonth.services.first?.funding, .government)

        let use = try phone.entitlementUse(month: month, purpose: .report)
        XCTAssertEqual(use.map(\.elderId), [zhang])
        XCTAssertEqual(use.first?.usedMinutes, 30)
        XCTAssertEqual(use.first?.status, .underServed)

        // Five days on, only 刘爷爷 (every 3 days, never visited) is overdue, by two days.
        let overdue = try phone.overdueVisits(now: Date().addingTimeInterval(5 * 86_400), purpose: .care)
        XCTAssertEqual(overdue.map(\.name), ["刘爷爷"])
        XCTAssertEqual(overdue.first?.elderId, liu)
        XCTAssertEqual(overdue.first?.daysOverdue, 2)
        XCTAssertNil(overdue.first?.lastVisitMs)

        let open = try phone.openFollowUps(purpose: .care)
        XCTAssertEqual(open.map(\.action), ["送降压药"])
        XCTAssertEqual(open.first?.visitId, visitLi)
        _ = try phone.followUpDone(done: FollowUpDone(visitId: visitLi, index: 0, doneAtMs: start + 20 * hour, note: "已送到"))
        XCTAssertTrue(try phone.openFollowUps(purpose: .care).isEmpty)
    }

    func testMistakesAreVoidedOrAmendedAndTheTraceIsKept() throws {
        let village = try TestVillage()
        let zhang = try village.elder("张大爷")
        let wang = try village.member(.caregiver, "王芳")
        let phone = wang.store
        _ = try phone.recordService(service: meal(wang, zhang, start))
        let duplicate = try phone.recordService(service: meal(wang, zhang, start + minute))
        var wrongVisit = Visit(elderId: zhang, caregiverId: wang.id, checkInMs: start, checkOutMs: start + 5 * hour)
        let visitId = try phone.recordVisit(visit: wrongVisit)

        let voidId = try phone.correct(targetId: duplicate, action: .void, reason: "重复录入")
        wrongVisit.checkOutMs = start + 40 * minute
        _ = try phone.correct(targetId: visitId, action: .amendVisit(visit: wrongVisit), reason: "离开时间录错")

        let counts = try phone.personTimes(month: month)
        XCTAssertEqual(counts.services.first { $0.kind == .meal }?.count, 1)
        XCTAssertEqual(try phone.elderMonth(elderId: zhang, month: month, purpose: .care).visits.map(\.checkOutMs), [start + 40 * minute])

        // Nothing is erased (留迹留痕): the voided record and the void itself can be read back.
        guard case .service = try phone.get(recordId: duplicate, purpose: .care).body else { return XCTFail("not a service") }
        let correction = try phone.get(recordId: voidId, purpose: .care)
        guard case let .correction(targetId, action, reason) = correction.body else { return XCTFail("not a correction") }
        XCTAssertEqual(targetId, duplicate)
        XCTAssertEqual(action, .void)
        XCTAssertEqual(reason, "重复录入")
        XCTAssertEqual(correction.author, try phone.deviceKey())
    }
}
