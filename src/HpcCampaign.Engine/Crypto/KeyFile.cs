using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HpcCampaign.Engine.Common;
using YamlDotNet.RepresentationModel;

namespace HpcCampaign.Engine.Crypto;

/// <summary>
/// A campaign key file (spec §4): YAML with note, id, key, [salt], date. Without a password the key is the 32-byte
/// secretbox key in hex; with one it is nonce ‖ MAC ‖ secretbox(key) under Argon2i(password, salt).
/// </summary>
public sealed class KeyFile
{
    private KeyFile(string path, string note, string id, byte[] keyField, byte[]? salt, string date)
    {
        Path = path;
        Note = note;
        Id = id;
        KeyField = keyField;
        Salt = salt;
        Date = date;
    }

    public string Path { get; }
    public string Note { get; }
    public string Id { get; }
    public byte[] KeyField { get; }
    public byte[]? Salt { get; }
    public string Date { get; }
    public bool IsProtected => Salt is not null;

    public CampaignKeyInfo ToInfo() =>
        new(Path, Id, Note,
            DateTimeOffset.TryParse(Date, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : null,
            IsProtected);

    /// <summary>Reads and validates a key file. Throws HpcException KeyFileNotFound / InvalidKeyFile.</summary>
    public static KeyFile Load(string path)
    {
        if (!File.Exists(path))
            throw new HpcException("KeyFileNotFound", HpcErrorKind.ObjectNotFound, $"Key file '{path}' does not exist.", path);
        Dictionary<string, string> map;
        try
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            var yaml = new YamlStream();
            yaml.Load(reader);
            if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
                throw Invalid(path, "it is not a YAML mapping");
            map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in root.Children)
                if (k is YamlScalarNode ks && v is YamlScalarNode vs && ks.Value is not null)
                    map[ks.Value] = vs.Value ?? "";
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw Invalid(path, $"it is not valid YAML ({ex.Message})");
        }

        string Need(string k) => map.TryGetValue(k, out var v) && v.Length > 0 ? v : throw Invalid(path, $"the '{k}' field is missing");
        var id = Need("id");
        var keyHex = Need("key");
        byte[] keyField, salt = null!;
        try
        {
            keyField = Convert.FromHexString(keyHex);
            if (map.TryGetValue("salt", out var s) && s.Length > 0) salt = Convert.FromHexString(s);
        }
        catch (FormatException)
        {
            throw Invalid(path, "the key or salt is not hexadecimal");
        }
        if (salt is null && keyField.Length != SodiumCrypto.KeyBytes)
            throw Invalid(path, $"an unprotected key must be {SodiumCrypto.KeyBytes} bytes, this one is {keyField.Length}");
        if (salt is not null && keyField.Length != SodiumCrypto.NonceBytes + SodiumCrypto.MacBytes + SodiumCrypto.KeyBytes)
            throw Invalid(path, $"a protected key must be {SodiumCrypto.NonceBytes + SodiumCrypto.MacBytes + SodiumCrypto.KeyBytes} bytes, this one is {keyField.Length}");
        if (salt is not null && salt.Length != SodiumCrypto.SaltBytes)
            throw Invalid(path, $"the salt must be {SodiumCrypto.SaltBytes} bytes");
        return new KeyFile(path, map.GetValueOrDefault("note", ""), id, keyField, salt, map.GetValueOrDefault("date", ""));
    }

    /// <summary>The 32-byte secretbox key. A protected key needs the password (UTF-8 bytes; cleared by the caller).</summary>
    public byte[] Unlock(ReadOnlySpan<byte> passwordUtf8)
    {
        if (!IsProtected) return (byte[])KeyField.Clone();
        if (passwordUtf8.IsEmpty)
            throw new HpcException("KeyPasswordRequired", HpcErrorKind.AuthenticationError,
                $"Key '{Id}' is protected by a password; give -Password.", Path);
        var derived = SodiumCrypto.DeriveKey(passwordUtf8, Salt!);
        try
        {
            return SodiumCrypto.Open(KeyField, derived, Path);
        }
        catch (HpcException ex) when (ex.ErrorId == "WrongKey")
        {
            throw new HpcException("WrongPassword", HpcErrorKind.AuthenticationError,
                $"The password does not unlock key '{Id}' ({Path}).", Path, ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(derived);
        }
    }

    /// <summary>Creates a new random key and writes it atomically, owner-only (0600).</summary>
    public static KeyFile Create(string path, string note, ReadOnlySpan<byte> passwordUtf8, bool overwrite)
    {
        var key = RandomNumberGenerator.GetBytes(SodiumCrypto.KeyBytes);
        try
        {
            return Create(path, note, key, Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow, passwordUtf8, null, overwrite);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Deterministic form for tests: every input given.</summary>
    public static KeyFile Create(string path, string note, byte[] key, string id, DateTimeOffset date,
        ReadOnlySpan<byte> passwordUtf8, byte[]? salt, bool overwrite)
    {
        byte[] keyField;
        byte[]? usedSalt = null;
        if (passwordUtf8.IsEmpty)
        {
            keyField = (byte[])key.Clone();
        }
        else
        {
            usedSalt = salt ?? RandomNumberGenerator.GetBytes(SodiumCrypto.SaltBytes);
            var derived = SodiumCrypto.DeriveKey(passwordUtf8, usedSalt);
            try { keyField = SodiumCrypto.Seal(key, derived); }
            finally { CryptographicOperations.ZeroMemory(derived); }
        }
        // Python's datetime.isoformat(): microseconds and +00:00
        var dateText = date.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("note: ").Append(Quote(note)).Append('\n');
        sb.Append("id: ").Append(Quote(id)).Append('\n');
        sb.Append("key: ").Append(Quote(Convert.ToHexString(keyField).ToLowerInvariant())).Append('\n');
        if (usedSalt is not null) sb.Append("salt: ").Append(Quote(Convert.ToHexString(usedSalt).ToLowerInvariant())).Append('\n');
        sb.Append("date: ").Append(Quote(dateText)).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString(), overwrite, ownerOnly: true);
        return new KeyFile(path, note, id, keyField, usedSalt, dateText);
    }

    private static string Quote(string s)
    {
        if (!s.Any(char.IsControl)) return "'" + s.Replace("'", "''") + "'";
        // YAML double-quoted scalars take the same escapes as JSON strings
        return System.Text.Json.JsonSerializer.Serialize(s, new System.Text.Json.JsonSerializerOptions
        { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    private static HpcException Invalid(string path, string why) =>
        new("InvalidKeyFile", HpcErrorKind.InvalidData, $"'{path}' is not a campaign key file: {why}.", path);
}
