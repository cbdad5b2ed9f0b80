using System.Security.Cryptography;
using System.Text;

namespace HpcCampaign.Engine.Transfer;

/// <summary>
/// OpenSSH known_hosts checking: plain (<c>host</c>, <c>[host]:port</c>, comma lists) and hashed (<c>|1|salt|hmac</c>)
/// entries; <c>@revoked</c> lines refuse the key; <c>@cert-authority</c> lines are ignored. A host with entries whose
/// keys all differ from the offered one is a mismatch; a host without entries is unknown. Both are refused.
/// </summary>
public sealed class KnownHosts
{
    private readonly List<(string[] Patterns, string KeyType, byte[] Key, bool Revoked)> _entries = new();

    public KnownHosts(string path)
    {
        Path = path;
        if (!File.Exists(path))
            throw new HpcException("KnownHostsNotFound", HpcErrorKind.ObjectNotFound, $"known_hosts file '{path}' does not exist.", path);
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var revoked = false;
            var i = 0;
            if (parts[0].StartsWith('@'))
            {
                if (parts[0] == "@cert-authority") continue;
                revoked = parts[0] == "@revoked";
                i = 1;
            }
            if (parts.Length < i + 3) continue;
            try { _entries.Add((parts[i].Split(','), parts[i + 1], Convert.FromBase64String(parts[i + 2]), revoked)); }
            catch (FormatException) { }
        }
    }

    public string Path { get; }

    public enum Result { Trusted, Mismatch, Unknown, Revoked }

    public Result Check(string host, int port, string keyType, byte[] key)
    {
        var name = port == 22 ? host : $"[{host}]:{port}";
        var sawHost = false;
        foreach (var e in _entries)
        {
            if (!Matches(e.Patterns, name)) continue;
            var same = e.Key.AsSpan().SequenceEqual(key);
            if (e.Revoked)
            {
                if (same) return Result.Revoked;
                continue;
            }
            sawHost = true;
            if (same) return Result.Trusted;
        }
        return sawHost ? Result.Mismatch : Result.Unknown;
    }

    private static bool Matches(string[] patterns, string name)
    {
        var matched = false;
        foreach (var p in patterns)
        {
            var negate = p.StartsWith('!');
            var pattern = negate ? p[1..] : p;
            bool hit;
            if (pattern.StartsWith("|1|", StringComparison.Ordinal))
            {
                var bits = pattern.Split('|');
                if (bits.Length < 4) continue;
                try
                {
                    using var hmac = new HMACSHA1(Convert.FromBase64String(bits[2]));
                    hit = Convert.ToBase64String(hmac.ComputeHash(Encoding.ASCII.GetBytes(name))) == bits[3];
                }
                catch (FormatException) { continue; }
            }
            else hit = Glob(pattern, name);
            if (hit && negate) return false;
            if (hit) matched = true;
        }
        return matched;
    }

    private static bool Glob(string pattern, string text)
    {
        if (!pattern.Contains('*') && !pattern.Contains('?')) return string.Equals(pattern, text, StringComparison.OrdinalIgnoreCase);
        var regex = "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$";
        return System.Text.RegularExpressions.Regex.IsMatch(text, regex, System.Text.RegularExpressions.RegexOptions.IgnoreCase);
    }
}
