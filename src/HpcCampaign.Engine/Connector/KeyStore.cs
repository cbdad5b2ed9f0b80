using System.Security.Cryptography;
using HpcCampaign.Engine.Crypto;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// The keys a connector serves on get_key: every key file of the keys folder (spec §5.1), unlocked once at start.
/// Keys are kept in memory only, served only for their id, and zeroed when the connector stops.
/// </summary>
public sealed class KeyStore : IDisposable
{
    private readonly Dictionary<string, byte[]> _keys = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public IReadOnlyList<string> Ids
    {
        get { lock (_gate) return _keys.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList(); }
    }

    /// <summary>
    /// Loads every key file of <paramref name="directory"/> (a missing folder means no keys). Files that are not key
    /// files, and protected keys that the password does not unlock, are skipped with a warning.
    /// </summary>
    public static KeyStore Load(string? directory, ReadOnlySpan<byte> password, IHpcSink sink)
    {
        var store = new KeyStore();
        if (directory is null || !Directory.Exists(directory)) return store;
        foreach (var file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            try
            {
                var keyFile = KeyFile.Load(file);
                var key = keyFile.Unlock(password);
                store.Add(keyFile.Id, key);
                sink.Verbose($"Key {keyFile.Id} loaded from {file}{(keyFile.IsProtected ? " (unlocked)" : "")}.");
            }
            catch (HpcException ex)
            {
                sink.Warning($"Key file '{file}' skipped: {ex.Message}");
            }
        }
        return store;
    }

    /// <summary>Lists the protected key files of a folder (so the caller knows whether to ask for a password).</summary>
    public static IReadOnlyList<string> ProtectedKeyFiles(string? directory)
    {
        if (directory is null || !Directory.Exists(directory)) return Array.Empty<string>();
        var result = new List<string>();
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            try
            {
                if (KeyFile.Load(file).IsProtected) result.Add(file);
            }
            catch (HpcException)
            {
                // reported when the store loads
            }
        }
        return result;
    }

    public void Add(string id, byte[] key)
    {
        lock (_gate)
        {
            if (_keys.Remove(id, out var old)) CryptographicOperations.ZeroMemory(old);
            _keys[id] = key;
        }
    }

    /// <summary>The get_key reply for an id: the key in hex, or key:0 with cannot_find_key_id.</summary>
    public string Reply(string id)
    {
        lock (_gate)
            return _keys.TryGetValue(id, out var key) ? ConnectorProtocol.KeyReply(key) : ConnectorProtocol.KeyError("cannot_find_key_id");
    }

    public bool Contains(string id)
    {
        lock (_gate) return _keys.ContainsKey(id);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var key in _keys.Values) CryptographicOperations.ZeroMemory(key);
            _keys.Clear();
        }
    }
}
