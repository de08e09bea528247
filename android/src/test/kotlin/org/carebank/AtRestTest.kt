package org.carebank

import org.carebank.ffi.AccessPurpose
import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator
import org.carebank.ffi.CareException
import org.carebank.ffi.CareStore
import org.junit.After
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * The store file is encrypted (SQLCipher) under a key the app's [org.carebank.ffi.SecureKeyStore]
 * keeps under `store-key`: made on the first open, loaded on the next ones. A wrong or missing key
 * is `CareException.KeyStorage`, and the file is left as it was.
 */
class AtRestTest {
    private val village = TestVillage()
    private val dir: File = Files.createTempDirectory("carebank").toFile()
    private val path = File(dir, "store.db").path

    @After
    fun cleanUp() {
        village.close()
        dir.deleteRecursively()
    }

    private fun sealedKeys(): WrappedFileKeyStore {
        val wrappingKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        return WrappedFileKeyStore(File(dir, "keys")) { wrappingKey }
    }

    /** The store's file and its companions (`-wal`, `-shm`), by name. */
    private fun storeFiles(): Map<String, ByteArray> =
        dir.listFiles()!!.filter { it.isFile }.associate { it.name to it.readBytes() }

    private fun ByteArray.holds(needle: ByteArray): Boolean =
        (0..size - needle.size).any { i -> needle.indices.all { this[i + it] == needle[it] } }

    /** The elder's name as the store reads it back (never visited, so overdue in a month). */
    private fun overdueNames(phone: CareStore, elder: String): List<String> =
        phone.overdueVisits(System.currentTimeMillis() + 30 * DAY, AccessPurpose.CARE).filter { it.elderId == elder }.map { it.name }

    @Test
    fun aStoreIsEncryptedUnderAKeyFromTheKeyStoreAndReopensWithIt() {
        val name = "龙凤呈祥Zhuangxiaomei"
        val elder = village.elder(name)
        val keys = sealedKeys()
        CareStore.open(path, village.circle, keys, "device").use { phone ->
            // Care records travel sealed for the circle's devices: the phone is enrolled first.
            village.enrolPhone(phone, "王芳")
            phone.mergeFrom(village.coordinator.store)
            assertEquals(listOf(name), overdueNames(phone, elder))
            // Open, with the latest writes in the log: no file holds the name.
            val files = storeFiles()
            assertTrue(files.keys.toString(), files.keys.containsAll(listOf("store.db", "store.db-wal")))
            assertFalse(files.values.any { it.holds(name.toByteArray()) })
        }
        assertNotNull("the key store keeps the store key", keys.load("store-key"))
        assertEquals(32, keys.load("store-key")!!.size)
        val header = File(path).readBytes().copyOf(16)
        assertFalse(header.contentEquals("SQLite format 3\u0000".toByteArray()))
        assertFalse(storeFiles().values.any { it.holds(name.toByteArray()) })

        CareStore.open(path, village.circle, keys, "device").use { phone ->
            assertEquals(listOf(name), overdueNames(phone, elder))
        }

        // Maintenance when idle: each document in one snapshot, the log folded into the
        // encrypted file; nothing readable appears and nothing is lost.
        CareStore.open(path, village.circle, keys, "device").use { phone ->
            val done = phone.runMaintenance()
            assertTrue(done.toString(), done.chunksMerged >= 2uL * done.documentsCompacted)
            assertEquals(0uL, phone.runMaintenance().documentsCompacted)
            assertEquals(0L, File(dir, "store.db-wal").length())
            assertFalse(storeFiles().values.any { it.holds(name.toByteArray()) })
            assertEquals(listOf(name), overdueNames(phone, elder))
        }
    }

    @Test
    fun aWrongOrMissingStoreKeyIsAKeyStorageErrorAndChangesNothing() {
        val keys = sealedKeys()
        CareStore.open(path, village.circle, keys, "device").use { it.mergeFrom(village.coordinator.store) }
        val before = storeFiles()

        // Another phone's key store: the same device key, another store key.
        val other = MemoryKeyStore().apply {
            save("device", keys.load("device")!!)
            save("store-key", ByteArray(32) { 7 })
        }
        val wrong = assertThrows(CareException.KeyStorage::class.java) {
            CareStore.open(path, village.circle, other, "device")
        }
        assertTrue(wrong.reason, wrong.reason.contains("wrong key for this store"))
        // A key store that lost the store key: no new key is made over the old store.
        val lost = MemoryKeyStore().apply { save("device", keys.load("device")!!) }
        assertThrows(CareException.KeyStorage::class.java) { CareStore.open(path, village.circle, lost, "device") }
        assertEquals(null, lost.load("store-key"))

        val after = storeFiles()
        assertEquals(before.keys, after.keys)
        for ((file, bytes) in before) assertArrayEquals(file, bytes, after[file])
        CareStore.open(path, village.circle, keys, "device").use { assertTrue(it.trustedKeys().isNotEmpty()) }
    }
}
