using System.Text.Json;
using System.Text.Json.Nodes;
using HpcCampaign.Engine.Common;

namespace HpcCampaign.Engine.Rucio;

/// <summary>
/// The upload summary: ONE JSON object in Rucio's rucio_upload.json shape, keyed "scope:name", sorted, holding
/// every file that is on the RSE (this run's and earlier runs' uploads). Failures go to a sibling
/// "&lt;summary&gt;.failures.json" (a JSON array), so that the summary itself stays exactly what butler ingest reads.
/// Both are written atomically (temp + rename). Thread-safe.
/// </summary>
public sealed class RucioSummary
{
    private readonly object _gate = new();
    private readonly SortedDictionary<string, RucioUploadRecord> _entries = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, RucioUploadRecord> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, JsonObject> _previous = new(StringComparer.Ordinal);

    public RucioSummary(string? path) => Path = path;

    public string? Path { get; }
    public string? FailuresPath => Path is null ? null : System.IO.Path.ChangeExtension(Path, null) + ".failures.json";

    /// <summary>Reads an existing summary (resume). A file that is not one JSON object is an error: it is never overwritten.</summary>
    public static RucioSummary Open(string? path)
    {
        var summary = new RucioSummary(path);
        if (path is null || !File.Exists(path)) return summary;
        JsonObject doc;
        try
        {
            doc = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new HpcException("InvalidSummaryFile", HpcErrorKind.InvalidData,
                $"The summary '{path}' exists but is not one JSON object ({ex.Message}); move it away or choose another -SummaryPath.", path, ex);
        }
        foreach (var (key, value) in doc)
            if (value is JsonObject o) summary._previous[key] = o;
        return summary;
    }

    /// <summary>An entry of the summary read at start (for resume), or null.</summary>
    public JsonObject? Previous(string did)
    {
        lock (_gate) return _previous.TryGetValue(did, out var o) ? o : null;
    }

    public void Add(RucioUploadRecord record)
    {
        lock (_gate)
        {
            if (record.State == RucioUploadState.Failed)
            {
                _failures[record.Did] = record;
                return;
            }
            _failures.Remove(record.Did);
            _entries[record.Did] = record;
        }
    }

    public static JsonObject Entry(RucioUploadRecord r) => new()
    {
        ["adler32"] = r.Adler32,
        ["bytes"] = r.Bytes,
        ["guid"] = r.Guid,
        ["md5"] = r.Md5,
        ["name"] = r.Name,
        ["pfn"] = r.Pfn ?? "",
        ["rse"] = r.Rse,
        ["scope"] = r.Scope,
    };

    public void Save()
    {
        if (Path is null) return;
        string text, failures;
        int failureCount;
        lock (_gate)
        {
            var doc = new JsonObject();
            var merged = new SortedDictionary<string, JsonNode>(StringComparer.Ordinal);
            foreach (var (k, v) in _previous) merged[k] = v.DeepClone();
            foreach (var (k, v) in _entries) merged[k] = Entry(v);
            foreach (var (k, v) in merged) doc[k] = v;
            text = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            var list = new JsonArray(_failures.Values.Select(f => (JsonNode)new JsonObject
            {
                ["scope"] = f.Scope, ["name"] = f.Name, ["path"] = f.Path, ["bytes"] = f.Bytes, ["rse"] = f.Rse,
                ["errorId"] = f.ErrorId, ["error"] = f.Error, ["batch"] = f.Batch, ["attempts"] = f.Attempts,
            }).ToArray());
            failures = list.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            failureCount = _failures.Count;
        }
        AtomicFile.WriteAllText(Path, text + "\n");
        if (failureCount > 0) AtomicFile.WriteAllText(FailuresPath!, failures + "\n");
        else if (File.Exists(FailuresPath!)) AtomicFile.TryDelete(FailuresPath!);
    }
}
