using System.IO.Enumeration;

namespace HpcCampaign.Engine.Rucio;

internal static class RucioBatchCommon
{
    /// <summary>Two files with the same DID name in one scope cannot both be uploaded: the later ones fail, the rest go on.</summary>
    public static List<RucioUploadItem> RejectDuplicateNames(IReadOnlyList<RucioUploadItem> items, RucioUploadOptions options, IHpcSink sink,
        List<RucioUploadRecord> records, RucioSummary summary)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        var unique = new List<RucioUploadItem>();
        foreach (var item in items)
        {
            if (seen.TryGetValue(item.Name, out var first))
            {
                if (first == item.Path) continue; // the same file given twice
                var error = new HpcException("DuplicateName", HpcErrorKind.InvalidArgument,
                    $"{options.Scope}:{item.Name} is also the name of '{first}'; a DID name can be uploaded once.", item.Path);
                var r = new RucioUploadRecord(item.Path, options.Scope, item.Name, -1, null, null, null, options.Rse, null,
                    RucioUploadState.Failed, error.Message, error.ErrorId, 0, 0);
                records.Add(r);
                summary.Add(r);
                sink.Output(r);
                sink.Error(error);
                continue;
            }
            seen[item.Name] = item.Path;
            unique.Add(item);
        }
        return unique;
    }
}

/// <summary>
/// Glob with "**" (any number of directories, like Python's glob(recursive=True)), '*' and '?' within a name.
/// Only files are returned (the DAC tool let directories through); order is ordinal per directory.
/// </summary>
public static class RucioGlob
{
    public static bool HasWildcards(string pattern) => pattern.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    /// <summary>Expands an absolute pattern.</summary>
    public static IEnumerable<string> Expand(string pattern)
    {
        var full = Path.GetFullPath(pattern);
        var parts = full.Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var root = Path.GetPathRoot(full) ?? "/";
        var fixedCount = 0;
        while (fixedCount < parts.Length && !HasWildcards(parts[fixedCount])) fixedCount++;
        var baseDir = Path.Combine(new[] { root }.Concat(parts.Take(fixedCount)).ToArray());
        if (fixedCount == parts.Length) return File.Exists(baseDir) ? new[] { baseDir } : Array.Empty<string>();
        return Walk(baseDir, parts.Skip(fixedCount).ToArray()).Distinct(StringComparer.Ordinal);
    }

    private static IEnumerable<string> Walk(string dir, string[] rest)
    {
        if (!Directory.Exists(dir)) yield break;
        var head = rest[0];
        var last = rest.Length == 1;
        if (head == "**")
        {
            // "**" matches zero directories ...
            if (last)
            {
                foreach (var f in Directory.EnumerateFiles(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).OrderBy(x => x, StringComparer.Ordinal))
                    yield return f;
                yield break;
            }
            foreach (var f in Walk(dir, rest[1..])) yield return f;
            // ... or one more level, still inside "**"
            foreach (var sub in Directory.EnumerateDirectories(dir).OrderBy(x => x, StringComparer.Ordinal))
                foreach (var f in Walk(sub, rest)) yield return f;
            yield break;
        }
        if (last)
        {
            foreach (var f in Directory.EnumerateFiles(dir).Where(f => FileSystemName.MatchesSimpleExpression(head, Path.GetFileName(f), ignoreCase: false)).OrderBy(x => x, StringComparer.Ordinal))
                yield return f;
            yield break;
        }
        foreach (var sub in Directory.EnumerateDirectories(dir).Where(d => FileSystemName.MatchesSimpleExpression(head, Path.GetFileName(d), ignoreCase: false)).OrderBy(x => x, StringComparer.Ordinal))
            foreach (var f in Walk(sub, rest[1..])) yield return f;
    }
}
