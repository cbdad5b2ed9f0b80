using System.Security.Cryptography;
using Sodium;

namespace HpcCampaign.Engine.Crypto;

/// <summary>
/// The two libsodium primitives the campaign format uses (spec §1.4, §4): XSalsa20-Poly1305 secretbox and the
/// Argon2i v1.3 password hash with the "sensitive" limits. Byte-compatible with PyNaCl.
/// </summary>
public static class SodiumCrypto
{
    public const int KeyBytes = 32;
    public const int NonceBytes = 24;
    public const int MacBytes = 16;
    public const int SaltBytes = 16;
    public const long ArgonOpsLimit = 8;            // crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE
    public const int ArgonMemLimit = 536870912;     // crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE

    /// <summary>nonce(24) ‖ MAC(16) ‖ ciphertext, with a fresh random nonce (PyNaCl SecretBox.encrypt layout).</summary>
    public static byte[] Seal(ReadOnlySpan<byte> plain, byte[] key)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var boxed = SecretBox.Create(plain.ToArray(), nonce, key);   // MAC ‖ ciphertext
        var result = new byte[NonceBytes + boxed.Length];
        nonce.CopyTo(result, 0);
        boxed.CopyTo(result, NonceBytes);
        return result;
    }

    /// <summary>Opens a sealed blob; a wrong key or damaged blob throws <see cref="HpcException"/> (WrongKey).</summary>
    public static byte[] Open(ReadOnlySpan<byte> sealedBlob, byte[] key, object? target = null)
    {
        if (sealedBlob.Length < NonceBytes + MacBytes)
            throw new HpcException("EncryptedBlobTooShort", HpcErrorKind.InvalidData,
                $"An encrypted blob must be at least {NonceBytes + MacBytes} bytes; this one has {sealedBlob.Length}.", target);
        var nonce = sealedBlob[..NonceBytes].ToArray();
        var boxed = sealedBlob[NonceBytes..].ToArray();
        try
        {
            return SecretBox.Open(boxed, nonce, key);
        }
        catch (CryptographicException ex)
        {
            throw new HpcException("WrongKey", HpcErrorKind.AuthenticationError,
                "Decryption failed: the key is wrong or the data is damaged.", target, ex);
        }
    }

    /// <summary>Argon2i13 (opslimit 8, memlimit 512 MiB) of the UTF-8 password, 32-byte output.</summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> passwordUtf8, byte[] salt)
    {
        if (salt.Length != SaltBytes)
            throw new HpcException("InvalidSalt", HpcErrorKind.InvalidData, $"The salt must be {SaltBytes} bytes, not {salt.Length}.");
        return PasswordHash.ArgonHashBinary(passwordUtf8.ToArray(), salt, ArgonOpsLimit, ArgonMemLimit, KeyBytes,
            PasswordHash.ArgonAlgorithm.Argon_2I13);
    }
}
