package org.carebank

import java.io.File
import java.security.SecureRandom
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.carebank.ffi.CareCircle
import org.carebank.ffi.PlatformException
import org.carebank.ffi.SecureKeyStore
import org.carebank.ffi.devicePublicKey
import org.carebank.ffi.newId

/**
 * Keeps device secrets in files under [dir], each sealed with AES-GCM under [wrappingKey]. On
 * Android the wrapping key lives in the Android Keystore (non-exportable, see android/README.md),
 * and [dir] is `context.noBackupFilesDir`, so a phone's identity is neither backed up nor moved.
 */
class WrappedFileKeyStore(
    private val dir: File,
    private val wrappingKey: () -> SecretKey,
) : SecureKeyStore {
    private val random = SecureRandom()

    override fun load(name: String): ByteArray? {
        val file = fileFor(name)
        if (!file.exists()) return null
        val sealed = file.readBytes()
        if (sealed.size <= IV_BYTES) throw PlatformException.Failed("sealed secret $name is truncated")
        return platformCall("unseal $name") {
            cipher(Cipher.DECRYPT_MODE, sealed.copyOfRange(0, IV_BYTES)).doFinal(sealed, IV_BYTES, sealed.size - IV_BYTES)
        }
    }

    override fun save(name: String, secret: ByteArray) {
        val iv = ByteArray(IV_BYTES).also(random::nextBytes)
        val sealed = platformCall("seal $name") { iv + cipher(Cipher.ENCRYPT_MODE, iv).doFinal(secret) }
        dir.mkdirs()
        val file = fileFor(name)
        val tmp = File(dir, "${file.name}.tmp")
        tmp.writeBytes(sealed)
        if (!tmp.renameTo(file)) throw PlatformException.Failed("cannot replace ${file.path}")
    }

    private fun cipher(mode: Int, iv: ByteArray): Cipher =
        Cipher.getInstance("AES/GCM/NoPadding").apply { init(mode, wrappingKey(), GCMParameterSpec(128, iv)) }

    private fun fileFor(name: String): File {
        if (!NAME.matches(name)) throw PlatformException.Failed("bad secret name $name")
        return File(dir, "$name.sealed")
    }

    private companion object {
        const val IV_BYTES = 12
        val NAME = Regex("[A-Za-z0-9_-]{1,64}")

        /** Runs a platform crypto call, turning its exceptions into the error carebank expects. */
        inline fun <T> platformCall(what: String, block: () -> T): T =
            try {
                block()
            } catch (e: java.security.GeneralSecurityException) {
                throw PlatformException.Failed("$what: ${e.message}")
            }
    }
}

/**
 * A new circle led by this device as town centre: a fresh circle id, and this device's key (kept
 * in [keys] under [keyName]) as the root of trust. Share the result with every member's phone.
 */
fun newCircle(keys: SecureKeyStore, keyName: String): CareCircle = CareCircle(newId(), devicePublicKey(keys, keyName))
