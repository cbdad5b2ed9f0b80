using System.Collections.Concurrent;
using System.Text;
using HpcCampaign.Engine.Common;
using HpcCampaign.Engine.Config;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>
/// ignore.yml (`previouslySynched: [epn, ...]`). Additions happen under an in-process lock plus a lock file (other
/// processes), re-read the file first so nobody's update is lost, and replace it atomically (temp + rename).
/// </summary>
public sealed class IgnoreList
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Locks = new(StringComparer.Ordinal);
    public string Path { get; }

    public IgnoreList(string path) => Path = System.IO.Path.GetFullPath(path);

    public HashSet<string> Read()
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (!File.Exists(Path)) return set;
        var root = YamlDoc.LoadRoot(Path);
        foreach (var epn in YamlDoc.Strings(YamlDoc.Child(root, "previouslySynched"))) set.Add(epn);
        return set;
    }

    public bool Contains(string epn) => Read().Contains(epn);

    /// <summary>Adds an EPN (no-op when present). Returns true when this call added it.</summary>
    public async Task<bool> AddAsync(string epn, CancellationToken ct)
    {
        var gate = Locks.GetOrAdd(Path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var fileLock = await AcquireFileLockAsync(ct).ConfigureAwait(false);
            var set = Read();
            if (!set.Add(epn)) return false;
            AtomicFile.WriteAllText(Path, Render(set));
            return true;
        }
        finally
        {
            gate.Release();
        }
    }

    internal static string Render(IEnumerable<string> epns)
    {
        var sorted = epns.OrderBy(e => e, StringComparer.Ordinal).ToList();
        if (sorted.Count == 0) return "previouslySynched: []\n";
        var sb = new StringBuilder("previouslySynched:\n");
        // all-digit EPNs are quoted so YAML readers (PyYAML) keep them strings
        foreach (var e in sorted) sb.Append("- ").Append(e.All(char.IsAsciiDigit) ? $"'{e}'" : e).Append('\n');
        return sb.ToString();
    }

    private async Task<FileStream> AcquireFileLockAsync(CancellationToken ct)
    {
        var lockPath = Path + ".lock";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(lockPath)!);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(50, ct).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                throw new HpcException("IgnoreListLocked", HpcErrorKind.ResourceUnavailable,
                    $"'{lockPath}' stayed locked for 30 s; another sync may be stuck.", Path, ex);
            }
        }
    }
}
