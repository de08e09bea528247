package org.carebank

import java.time.Instant
import java.time.YearMonth
import java.time.ZoneId
import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareStore
import org.carebank.ffi.CodeCheck
import org.carebank.ffi.ElderMonth
import org.carebank.ffi.EntitlementUse
import org.carebank.ffi.OverdueElder
import org.carebank.ffi.PersonTimes

/** China Standard Time: carebank's days and months are CST days and months. */
val CHINA_TIME: ZoneId = ZoneId.of("Asia/Shanghai")

/** The CST month that contains the instant [epochMs] (Unix milliseconds). */
fun monthOf(epochMs: Long): YearMonth = YearMonth.from(Instant.ofEpochMilli(epochMs).atZone(CHINA_TIME))

/** The month as carebank writes it, `YYYY-MM`. */
fun YearMonth.toCarebank(): String = toString()

/** Elders overdue for a visit at [now], most overdue first; the read is logged with [purpose]. */
fun CareStore.overdueVisits(now: Instant, purpose: AccessPurpose): List<OverdueElder> =
    overdueVisits(now.toEpochMilli(), purpose)

/** An elder's visits and services in [month]; the read is logged with [purpose]. */
fun CareStore.elderMonth(elderId: String, month: YearMonth, purpose: AccessPurpose): ElderMonth =
    elderMonth(elderId, month.toCarebank(), purpose)

/** Government-bought hours used by each entitled elder in [month]; logged with [purpose]. */
fun CareStore.entitlementUse(month: YearMonth, purpose: AccessPurpose): List<EntitlementUse> =
    entitlementUse(month.toCarebank(), purpose)

/** Person-times (人次) by service type in [month]. */
fun CareStore.personTimes(month: YearMonth): PersonTimes = personTimes(month.toCarebank())

/** The verdict on every service of [month] confirmed by a printed card's code (decision 0019). */
fun CareStore.cardConfirmations(month: YearMonth): List<CodeCheck> = cardConfirmations(month.toCarebank())
