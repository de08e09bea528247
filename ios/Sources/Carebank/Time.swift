import Foundation

/// China Standard Time: carebank's days and months are CST days and months.
public let chinaTime = TimeZone(identifier: "Asia/Shanghai")!

/// Unix milliseconds, as carebank takes and gives instants.
public extension Date {
    /// This instant in Unix milliseconds.
    var carebankMs: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }

    /// The instant `ms` Unix milliseconds.
    init(carebankMs ms: Int64) {
        self.init(timeIntervalSince1970: Double(ms) / 1000)
    }
}

/// The CST month containing `date`, written as carebank takes it: `YYYY-MM`.
public func carebankMonth(of date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = chinaTime
    let parts = calendar.dateComponents([.year, .month], from: date)
    return String(format: "%04d-%02d", parts.year ?? 1970, parts.month ?? 1)
}

public extension CareStore {
    /// Elders overdue for a visit at `now`, most overdue first; the read is logged with `purpose`.
    func overdueVisits(now: Date, purpose: AccessPurpose) throws -> [OverdueElder] {
        try overdueVisits(nowMs: now.carebankMs, purpose: purpose)
    }

    /// Person-times (人次) by service type in the CST month containing `date`.
    func personTimes(monthOf date: Date) throws -> PersonTimes {
        try personTimes(month: carebankMonth(of: date))
    }

    /// An elder's visits and services in the CST month containing `date`; logged with `purpose`.
    func elderMonth(elderId: String, monthOf date: Date, purpose: AccessPurpose) throws -> ElderMonth {
        try elderMonth(elderId: elderId, month: carebankMonth(of: date), purpose: purpose)
    }

    /// Government-bought hours used by each entitled elder in the CST month containing `date`;
    /// logged with `purpose`.
    func entitlementUse(monthOf date: Date, purpose: AccessPurpose) throws -> [EntitlementUse] {
        try entitlementUse(month: carebankMonth(of: date), purpose: purpose)
    }

    /// The verdict on every service of the CST month containing `date` confirmed by a printed
    /// card's code (decision 0019).
    func cardConfirmations(monthOf date: Date) throws -> [CodeCheck] {
        try cardConfirmations(month: carebankMonth(of: date))
    }
}
