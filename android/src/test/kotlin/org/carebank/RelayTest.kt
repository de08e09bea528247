package org.carebank

import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.ConfirmMethod
import org.carebank.ffi.Funding
import org.carebank.ffi.MealMode
import org.carebank.ffi.ProgressUpdate
import org.carebank.ffi.RecordBody
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Phones sync through a carebank relay on loopback. `scripts/mobile.sh jvm-test` starts the relay
 * for one circle and passes it as system properties: `carebank.relay.url`, and the circle's id
 * and centre secret (hex) as `carebank.relay.circle` and `carebank.relay.centre-secret`.
 */
class RelayTest {
    private val url = property("carebank.relay.url")
    private val village = TestVillage(property("carebank.relay.circle"), hex(property("carebank.relay.centre-secret")))
    private val start = yesterdayMorning()

    @After
    fun closeStores() {
        village.close()
    }

    @Test
    fun aClaimAndItsConfirmationTravelThroughTheRelay() {
        val elder = village.elder("张大爷")
        val caregiver = village.member(Role.CAREGIVER, "王芳")
        val volunteer = village.member(Role.VOLUNTEER, "小李")
        // The centre and the coordinator go first, so the relay knows the circle's members.
        village.centre.syncWithRelay(url)
        val updates = mutableListOf<ProgressUpdate>()
        village.coordinator.store.syncWithRelay(url, onProgress = { updates += it })
        assertTrue(updates.isNotEmpty() && updates.all { it.stage == "sync" })

        val service = volunteer.store.recordService(
            Service(elder, volunteer.id, start, 90, Funding.TIME_BANK, ServiceDetail.Meal(MealMode.DINING_TABLE, 1u)),
        )
        val claim = volunteer.store.claimHours(service, 90)
        assertTrue(volunteer.store.syncWithRelay(url).bytesSent > 0uL)

        val received = caregiver.store.syncWithRelay(url)
        assertTrue(received.recordsReceived >= 2uL)
        assertTrue(caregiver.store.get(claim, AccessPurpose.CARE).body is RecordBody.Ledger)
        caregiver.store.confirmClaim(claim, ConfirmMethod.PRINTED_CARD)
        caregiver.store.syncWithRelay(url)

        volunteer.store.syncWithRelay(url)
        assertEquals(90L, volunteer.store.balance(volunteer.id).availableMinutes)
        // A second sync finds nothing new.
        assertEquals(0uL, volunteer.store.syncWithRelay(url).recordsReceived)
    }

    @Test
    fun anUnreachableRelayIsANetworkErrorAndACancelledSyncStops() {
        val phone = village.coordinator.store
        assertThrows(CareException.Network::class.java) { phone.syncWithRelay("http://127.0.0.1:1") }
        // An address that is not a URL is the form's mistake, not the network's.
        val bad = assertThrows(CareException.InvalidInput::class.java) { phone.syncWithRelay("relay.example:8443") }
        assertEquals("url", bad.field)
        val flag = CancellationFlag().apply { cancel() }
        assertThrows(CareException.Cancelled::class.java) { phone.syncWithRelay(url, flag) {} }
    }

    private companion object {
        fun property(name: String): String =
            checkNotNull(System.getProperty(name)) { "$name is not set: run the tests with scripts/mobile.sh" }

        fun hex(text: String): ByteArray = ByteArray(text.length / 2) { text.substring(2 * it, 2 * it + 2).toInt(16).toByte() }
    }
}
