using System.Security.Cryptography;
using System.Text;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Engine.Transfer;

/// <summary>
/// OpenSSH known_hosts files: `[markers] patterns keytype base64 [comment]`, patterns comma-separated with `*`/`?`
/// wildcards and `!` negation, `[host]:port` for ports other than 22, hashed names `|1|salt|hmac-sha1`. Unknown hosts
/// are refused: nothing here ever adds keys (hpc-campaign and sr3 auto-added them). Shared by every SSH user of the engine.
/// </summary>
public sealed class KnownHosts
{
    private readonly List<Entry> _entries = new();

    public KnownHosts(IEnumerable<string> files)
    {
        foreach (var file in files)
        {
            if (!File.Exists(file)) continue;
            Files.Add(file);
            foreach (var raw in File.ReadLines(file))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#') continue;
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                var marker = "";
                var i = 0;
                if (parts[0].StartsWith('@')) { marker = parts[0]; i = 1; }
                if (parts.Length < i + 3) continue;
                byte[] blob;
                try { blob = Convert.FromBase64String(parts[i + 2]); }
                catch (FormatException) { continue; }
                _entries.Add(new Entry(marker, parts[i].Split(','), parts[i + 1], blob));
            }
        }
    }

    /// <summary>One file that must exist (a configured known_hosts); a missing file is KnownHostsNotFound.</summary>
    public static KnownHosts FromFile(string path) =>
        File.Exists(path)
            ? new KnownHosts(new[] { path })
            : throw new HpcException("KnownHostsNotFound", HpcErrorKind.ObjectNotFound, $"known_hosts file '{path}' does not exist.", path);

    /// <summary>The files that existed and were read.</summary>
    public List<string> Files { get; } = new();

    /// <summary>Default files: ~/.ssh/known_hosts and the system-wide /etc/ssh/ssh_known_hosts.</summary>
    public static IReadOnlyList<string> DefaultFiles => new[]
    {
        Path.Combine(ConfigPaths.Home, ".ssh", "known_hosts"),
        OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "ssh", "ssh_known_hosts")
            : "/etc/ssh/ssh_known_hosts",
    };

    /// <summary>The name known_hosts uses for host:port.</summary>
    public static string LookupName(string host, int port) => port == 22 ? host : $"[{host}]:{port}";

    /// <summary>Key types ("ssh-ed25519", "ssh-rsa", ...) recorded for the host; empty when it is unknown.</summary>
    public IReadOnlyCollection<string> KeyTypesFor(string host, int port)
    {
        var name = LookupName(host, port);
        return _entries.Where(e => e.Marker.Length == 0 && e.Matches(name)).Select(e => e.KeyType).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Checks a host key blob (SSH wire format) the server presented.</summary>
    public HostKeyVerdict Verify(string host, int port, byte[] keyBlob)
    {
        var name = LookupName(host, port);
        var matching = _entries.Where(e => e.Matches(name)).ToList();
        if (matching.Any(e => e.Marker == "@revoked" && e.Key.AsSpan().SequenceEqual(keyBlob))) return HostKeyVerdict.Revoked;
        var plain = matching.Where(e => e.Marker.Length == 0).ToList();
        if (plain.Count == 0) return HostKeyVerdict.Unknown;
        return plain.Any(e => e.Key.AsSpan().SequenceEqual(keyBlob)) ? HostKeyVerdict.Trusted : HostKeyVerdict.Mismatch;
    }

    /// <summary>SHA256:base64 fingerprint as ssh-keygen -l prints it.</summary>
    public static string Fingerprint(byte[] keyBlob) => "SHA256:" + Convert.ToBase64String(SHA256.HashData(keyBlob)).TrimEnd('=');

    private sealed record Entry(string Marker, string[] Patterns, string KeyType, byte[] Key)
    {
        public bool Matches(string name)
        {
            var positive = false;
            foreach (var p in Patterns)
            {
                if (p.StartsWith('!'))
                {
                    if (Glob(p[1..], name)) return false;
                }
                else if (p.StartsWith("|1|", StringComparison.Ordinal))
                {
                    positive |= HashedMatch(p, name);
                }
                else if (Glob(p, name))
                {
                    positive = true;
                }
            }
            return positive;
        }

        private static bool HashedMatch(string pattern, string name)
        {
            var parts = pattern.Split('|');
            if (parts.Length != 4) return false;
            try
            {
                var salt = Convert.FromBase64String(parts[2]);
                var expected = Convert.FromBase64String(parts[3]);
                var actual = HMACSHA1.HashData(salt, Encoding.UTF8.GetBytes(name));
                return CryptographicOperations.FixedTimeEquals(actual, expected);
            }
            catch (FormatException)
            {
                return false;
            }
        }

        /// <summary>OpenSSH match_pattern: '*' any run, '?' one character, case-insensitive for host names.</summary>
        private static bool Glob(string pattern, string name)
        {
            int p = 0, n = 0, star = -1, mark = 0;
            while (n < name.Length)
            {
                if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(name[n])))
                {
                    p++; n++;
                }
                else if (p < pattern.Length && pattern[p] == '*')
                {
                    star = p++; mark = n;
                }
                else if (star >= 0)
                {
                    p = star + 1; n = ++mark;
                }
                else return false;
            }
            while (p < pattern.Length && pattern[p] == '*') p++;
            return p == pattern.Length;
        }
    }
}

public enum HostKeyVerdict { Trusted, Unknown, Mismatch, Revoked }
