package org.carebank

import java.time.LocalDate
import java.util.concurrent.ConcurrentHashMap
import org.carebank.ffi.CareCircle
import org.carebank.ffi.CareLevel
import org.carebank.ffi.CareStore
import org.carebank.ffi.Consent
import org.carebank.ffi.ConsentPurpose
import org.carebank.ffi.ConsentRelation
import org.carebank.ffi.Elder
import org.carebank.ffi.Enrolment
import org.carebank.ffi.EntitlementGroup
import org.carebank.ffi.Role
import org.carebank.ffi.SecureKeyStore
import org.carebank.ffi.Site
import org.carebank.ffi.SiteKind
import org.carebank.ffi.devicePublicKey
import org.carebank.ffi.newId

const val MINUTE = 60_000L
const val HOUR = 60 * MINUTE
const val DAY = 24 * HOUR

/** 08:00 China Standard Time yesterday: the start of the working day the tests record. */
fun yesterdayMorning(): Long =
    LocalDate.now(CHINA_TIME).minusDays(1).atTime(8, 0).atZone(CHINA_TIME).toInstant().toEpochMilli()

/** Device secrets in memory (the app uses Android Keystore: see [WrappedFileKeyStore]). */
class MemoryKeyStore : SecureKeyStore {
    private val secrets = ConcurrentHashMap<String, ByteArray>()

    override fun load(name: String): ByteArray? = secrets[name]?.copyOf()

    override fun save(name: String, secret: ByteArray) {
        secrets[name] = secret.copyOf()
    }
}

/** A member of the circle, their phone's store, and the name its device key is kept under. */
class Member(val id: String, val name: String, val store: CareStore, val keyName: String = "")

/**
 * A village led by a town centre: a village point, its coordinator, and the members and elders
 * each test adds. Every phone is an in-memory store with its own device key. A fixed
 * [circleId] and [centreSecret] give the circle a relay was started for (see [RelayTest]).
 */
class TestVillage(circleId: String? = null, centreSecret: ByteArray? = null) : AutoCloseable {
    val keys = MemoryKeyStore().apply { centreSecret?.let { save("centre", it) } }
    val circle = CareCircle(circleId ?: newId(), devicePublicKey(keys, "centre"))
    val centre: CareStore = CareStore.openInMemory(circle, keys, "centre")
    val pointId: String = newId()
    val coordinator: Member
    private val stores = mutableListOf(centre)

    init {
        val centreSite = newId()
        centre.addSite(Site(centreSite, SiteKind.CENTRE, "龙泉镇养老服务中心"))
        centre.addSite(Site(pointId, SiteKind.VILLAGE_POINT, "石桥村互助养老点", parent = centreSite))
        coordinator = enrol(centre, Role.COORDINATOR, "李站长")
        coordinator.store.mergeFrom(centre)
    }

    /** A new phone for a member enrolled by the coordinator, holding the circle's records. */
    fun member(role: Role, name: String): Member = enrol(coordinator.store, role, name).also { sync(it) }

    /** The member's phone pulls what the coordinator holds. */
    fun sync(member: Member) {
        member.store.mergeFrom(coordinator.store)
    }

    /** The coordinator enrols an elder at the village point; returns the elder's id. */
    fun elder(
        name: String,
        cadenceDays: Int = 7,
        entitledHours: Int = 0,
        purposes: List<ConsentPurpose> = ConsentPurpose.values().toList(),
    ): String {
        val elder = Elder(
            elderId = newId(),
            siteId = pointId,
            name = name,
            birthYear = 1940u,
            groups = if (entitledHours > 0) listOf(EntitlementGroup.EXTREME_POVERTY) else emptyList(),
            careLevel = CareLevel.MILD,
            visitCadenceDays = cadenceDays.toUInt(),
            monthlyEntitledHours = entitledHours.toUInt(),
            responsibleMember = null,
            consent = Consent("本人", ConsentRelation.ELDER, System.currentTimeMillis(), purposes),
        )
        coordinator.store.enrolElder(elder)
        return elder.elderId
    }

    /** A copy of [member]'s phone with the same device key (a cloned phone, a restored backup). */
    fun clonePhone(member: Member): CareStore = open(member.keyName).also { it.mergeFrom(member.store) }

    /** A phone that is not enrolled (yet). */
    fun strangerPhone(): CareStore = open("stranger-${stores.size}")

    /** Enrols a phone opened elsewhere as a caregiver's: its next merge brings it the circle's keys. */
    fun enrolPhone(phone: CareStore, name: String) {
        coordinator.store.enrol(Enrolment(newId(), name, Role.CAREGIVER, pointId, phone.deviceKey()))
    }

    private fun open(keyName: String): CareStore = CareStore.openInMemory(circle, keys, keyName).also { stores += it }

    private fun enrol(by: CareStore, role: Role, name: String): Member {
        val keyName = "device-${stores.size}"
        val store = open(keyName)
        val enrolment = Enrolment(newId(), name, role, pointId, store.deviceKey())
        by.enrol(enrolment)
        return Member(enrolment.memberId, name, store, keyName)
    }

    override fun close() = stores.forEach { it.close() }
}
