import XCTest
@testable import Carebank

/// The time bank (时间银行) on the phones: claims, confirmations, redemptions, reconciliation.
final class TimeBankTests: XCTestCase {
    private var village: TestVillage!
    private let start = yesterdayMorning()

    override func setUpWithError() throws {
        village = try TestVillage()
    }

    private func meal(_ volunteer: Member, _ elder: String, minutes: Int64 = 60) -> Service {
        Service(elderId: elder, providerId: volunteer.id, startedMs: start, durationMinutes: minutes,
                funding: .timeBank, detail: .meal(mode: .delivered, portions: 1))
    }

    /// A volunteer gives an hour's meal service, claims it, and a caregiver confirms it.
    private func earnAnHour(_ volunteer: Member, _ caregiver: Member, _ elder: String) throws -> String {
        let service = try volunteer.store.recordService(service: meal(volunteer, elder))
        let claim = try volunteer.store.claimHours(serviceId: service, minutes: 60)
        _ = try caregiver.store.mergeFrom(other: volunteer.store)
        _ = try caregiver.store.confirmClaim(claimId: claim, method: .inPerson)
        _ = try volunteer.store.mergeFrom(other: caregiver.store)
        return claim
    }

    func testAVolunteersConfirmedClaimIsCreditedAndRedeemed() throws {
        let elder = try village.elder("张大爷")
        let caregiver = try village.member(.caregiver, "王芳")
        let volunteer = try village.member(.volunteer, "小李")
        let service = try volunteer.store.recordService(service: meal(volunteer, elder))
        let claim = try volunteer.store.claimHours(serviceId: service, minutes: 60)
        var balance = try volunteer.store.balance(memberId: volunteer.id)
        XCTAssertEqual(balance.availableMinutes, 0)
        XCTAssertEqual(balance.pendingMinutes, 60)

        _ = try caregiver.store.mergeFrom(other: volunteer.store)
        let confirmation = try caregiver.store.confirmClaim(claimId: claim, method: .inPerson)
        guard case let .ledger(entry) = try caregiver.store.get(recordId: confirmation, purpose: .care).body else {
            return XCTFail("not a ledger entry")
        }
        XCTAssertEqual(entry.kind, .confirm(claimId: claim, method: .inPerson))
        _ = try volunteer.store.mergeFrom(other: caregiver.store)
        balance = try volunteer.store.balance(memberId: volunteer.id)
        XCTAssertEqual(balance.availableMinutes, 60)
        XCTAssertEqual(balance.earnedMinutes, 60)
        XCTAssertEqual(balance.pendingMinutes, 0)

        _ = try volunteer.store.redeemHours(minutes: 40)
        balance = try volunteer.store.balance(memberId: volunteer.id)
        XCTAssertEqual(balance.availableMinutes, 20)
        XCTAssertEqual(balance.redeemedMinutes, 40)
        // Spending more than is held is refused on the phone, saying the balance it would leave.
        assertCareError(try volunteer.store.redeemHours(minutes: 30)) {
            if case .Overdraft(let balanceAfterMinutes) = $0 { return balanceAfterMinutes == -10 } else { return false }
        }
        _ = try village.coordinator.store.mergeFrom(other: volunteer.store)
        let all = try village.coordinator.store.balances(nowMs: Date().carebankMs)
        XCTAssertEqual(all.map(\.memberId), [volunteer.id])
        XCTAssertEqual(all.map(\.availableMinutes), [20])
    }

    func testAClonedPhonesDoubleSpendIsQueuedAndTheCoordinatorsDecisionsClearIt() throws {
        let elder = try village.elder("张大爷")
        let caregiver = try village.member(.caregiver, "王芳")
        let volunteer = try village.member(.volunteer, "小李")
        _ = try earnAnHour(volunteer, caregiver, elder)
        let clone = try village.clonePhone(volunteer)

        let first = try volunteer.store.redeemHours(minutes: 60)
        let second = try clone.redeemHours(minutes: 50)
        let coordinator = village.coordinator.store
        _ = try coordinator.mergeFrom(other: volunteer.store)
        _ = try coordinator.mergeFrom(other: clone)

        let queue = try coordinator.conflictQueue()
        let forks = queue.filter { $0.kind == .fork }
        XCTAssertEqual(forks.count, 1)
        XCTAssertEqual(forks.first?.memberId, volunteer.id)
        XCTAssertEqual(Set(forks.first?.evidenceIds ?? []), [first, second])
        let overdrafts = queue.filter { $0.kind == .overdraft }
        XCTAssertEqual(overdrafts.first?.awaitingIds, [second])
        XCTAssertTrue(overdrafts.first?.description.contains("−50 min") ?? false)
        XCTAssertEqual(try coordinator.balance(memberId: volunteer.id).availableMinutes, -50)

        _ = try coordinator.decide(targetId: second, verdict: .reject, reason: "重复兑换")
        _ = try coordinator.decide(targetId: first, verdict: .approve, reason: "有效兑换")
        XCTAssertTrue(try coordinator.conflictQueue().isEmpty)
        XCTAssertEqual(try coordinator.balance(memberId: volunteer.id).availableMinutes, 0)
        XCTAssertThrowsError(try caregiver.store.decide(targetId: first, verdict: .reject, reason: "x"))
    }

    func testAStatementVerifiesOfflineAndATamperedOneDoesNot() throws {
        let elder = try village.elder("张大爷")
        let caregiver = try village.member(.caregiver, "王芳")
        let volunteer = try village.member(.volunteer, "小李")
        let claim = try earnAnHour(volunteer, caregiver, elder)
        _ = try village.coordinator.store.mergeFrom(other: volunteer.store)

        let statement = try village.coordinator.store.exportStatement(memberId: volunteer.id)
        let verified = try village.strangerPhone().verifyStatement(statement: statement)
        XCTAssertEqual(verified.memberId, volunteer.id)
        XCTAssertEqual(verified.balance.availableMinutes, 60)
        XCTAssertEqual(verified.entryIds, [claim])
        XCTAssertTrue(verified.conflicts.isEmpty)
        XCTAssertEqual(verified.exporterRole, .coordinator)

        var tampered = statement
        let middle = tampered.startIndex + tampered.count / 2
        tampered[middle] ^= 1
        assertCareError(try volunteer.store.verifyStatement(statement: tampered)) {
            if case let .InvalidInput(field, _) = $0 { return field == "statement" } else { return false }
        }
    }
}
