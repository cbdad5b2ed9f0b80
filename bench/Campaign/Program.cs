using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using HpcCampaign;
using HpcCampaign.Engine.Campaign;
using Microsoft.Data.Sqlite;
using PureHDF;

// Per-item cost of CampaignAdd (the engine behind Add-Campaign*) against a bare Microsoft.Data.Sqlite bulk insert of
// the same rows (dataset + replica, and file + repfiles with the same blobs) in one transaction, in the same run.
var root = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "campaign-bench");
var results = new List<(string Name, int N, double OursMs, double BaseMs)>();
Directory.CreateDirectory(root);
var host = new CampaignHost { ShortName = "bench", LongName = "bench.example.org" };

string Make(string sub, int n, Action<string, int> make)
{
    var dir = Path.Combine(root, sub);
    if (Directory.Exists(dir)) Directory.Delete(dir, true);
    Directory.CreateDirectory(dir);
    for (int i = 0; i < n; i++) make(dir, i);
    return dir;
}

var texts = Make("texts", 10_000, (d, i) => File.WriteAllText(Path.Combine(d, $"t{i:D5}.txt"), $"reference text {i}\n"));
var stored = Make("stored", 1_000, (d, i) => File.WriteAllText(Path.Combine(d, $"s{i:D4}.txt"), string.Concat(Enumerable.Repeat($"stored text line {i}\n", 100))));
var h5 = Make("h5", 200, (d, i) =>
{
    var f = new H5File
    {
        ["small"] = Enumerable.Range(i, 16).ToArray(),
        ["fields"] = new H5Group { ["temperature"] = new H5Dataset(new double[4096]) { Attributes = { ["units"] = "K" } } },
    };
    f.Attributes["step"] = i;
    f.Write(Path.Combine(d, $"f{i:D3}.h5"));
});
var rnd = new Random(1);
var bp = Make("bp", 1_000, (d, i) =>
{
    var dir = Path.Combine(d, $"run{i:D4}.bp");
    Directory.CreateDirectory(dir);
    var b = new byte[2048]; rnd.NextBytes(b);
    File.WriteAllBytes(Path.Combine(dir, "md.0"), b[..1500]);
    File.WriteAllBytes(Path.Combine(dir, "mmd.0"), b[..300]);
    File.WriteAllBytes(Path.Combine(dir, "md.idx"), b[..128]);
    File.WriteAllBytes(Path.Combine(dir, "data.0"), b);
});

List<CampaignItemRequest> Items(string dir, CampaignItemKind kind, bool store) =>
    Directory.EnumerateFileSystemEntries(dir).OrderBy(x => x, StringComparer.Ordinal)
        .Select(p => new CampaignItemRequest { SourcePath = p, ReplicaName = Path.GetFileName(p), Directory = dir, Kind = kind, Store = store }).ToList();

double Ours(string name, List<CampaignItemRequest> items)
{
    var aca = Path.Combine(root, name + ".aca");
    File.Delete(aca);
    var sink = new CollectingSink();
    var sw = Stopwatch.StartNew();
    var n = CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = host }, items, sink, CancellationToken.None);
    sw.Stop();
    if (n != items.Count || sink.Errors.Count > 0) throw new Exception($"{name}: {n} of {items.Count}, {sink.Errors.FirstOrDefault()?.Message}");
    return sw.Elapsed.TotalMilliseconds;
}

// the baseline: the same rows and blobs, precomputed, inserted with prepared statements in one transaction
double Baseline(string name, List<CampaignItemRequest> items)
{
    var prepared = items.Select(i => CampaignItemReader.Prepare(i, null, host)).ToList();
    var aca = Path.Combine(root, name + "-baseline.aca");
    File.Delete(aca);
    CampaignDb.CreateNew(aca, false);
    var sw = Stopwatch.StartNew();
    using var db = new SqliteConnection($"Data Source={aca};Pooling=False");
    db.Open();
    using var tx = db.BeginTransaction();
    SqliteCommand Cmd(string sql, int n)
    {
        var c = db.CreateCommand(); c.Transaction = tx; c.CommandText = sql;
        for (int k = 0; k < n; k++) c.Parameters.Add(new SqliteParameter("$p" + k, null));
        c.Prepare(); return c;
    }
    using var ds = Cmd("INSERT INTO dataset VALUES ($p0, $p1, $p2, 0, $p3, 0, 0)", 4);
    using var rep = Cmd("INSERT INTO replica VALUES ($p0, 1, 1, 0, $p1, $p2, 0, 0, $p3)", 4);
    using var file = Cmd("INSERT INTO file (name, compression, lenorig, lencompressed, modtime, checksum, data) VALUES ($p0, $p1, $p2, $p3, $p4, $p5, $p6)", 7);
    using var link = Cmd("INSERT INTO repfiles VALUES ($p0, $p1)", 2);
    long dsId = 0, repId = 0, fileId = 0;
    foreach (var p in prepared)
    {
        ds.Parameters[0].Value = p.DatasetName; ds.Parameters[1].Value = p.Uuid; ds.Parameters[2].Value = p.ModTime; ds.Parameters[3].Value = p.Format;
        ds.ExecuteNonQuery(); dsId++;
        foreach (var r in p.Replicas)
        {
            rep.Parameters[0].Value = dsId; rep.Parameters[1].Value = r.Name; rep.Parameters[2].Value = r.ModTime; rep.Parameters[3].Value = r.Size;
            rep.ExecuteNonQuery(); repId++;
            foreach (var f in r.Files)
            {
                file.Parameters[0].Value = f.Name; file.Parameters[1].Value = f.Compressed ? 1 : 0; file.Parameters[2].Value = f.LenOrig;
                file.Parameters[3].Value = f.LenCompressed; file.Parameters[4].Value = f.ModTime; file.Parameters[5].Value = f.Checksum; file.Parameters[6].Value = f.Data;
                file.ExecuteNonQuery(); fileId++;
                link.Parameters[0].Value = repId; link.Parameters[1].Value = fileId; link.ExecuteNonQuery();
            }
        }
    }
    tx.Commit();
    return sw.Elapsed.TotalMilliseconds;
}

void Run(string name, List<CampaignItemRequest> items)
{
    Ours(name + "-warmup", items.Take(Math.Min(50, items.Count)).ToList());
    var best = double.MaxValue; var bestBase = double.MaxValue;
    for (int rep = 0; rep < 3; rep++)
    {
        best = Math.Min(best, Ours(name, items));
        bestBase = Math.Min(bestBase, Baseline(name, items));
    }
    results.Add((name, items.Count, best, bestBase));
    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,-22} n={1,6}  ours {2,9:F1} ms = {3,8:F1} µs/item   bare SQLite {4,9:F1} ms = {5,7:F1} µs/item   ratio {6,5:F2}",
        name, items.Count, best, best * 1000 / items.Count, bestBase, bestBase * 1000 / items.Count, best / bestBase));
}

Run("text-references", Items(texts, CampaignItemKind.Text, false));
Run("stored-texts", Items(stored, CampaignItemKind.Text, true));
Run("hdf5-files", Items(h5, CampaignItemKind.Dataset, false));
Run("bp5-folders", Items(bp, CampaignItemKind.Dataset, false));

var md = new System.Text.StringBuilder();
md.AppendLine("| workload | items | ours (ms) | ours per item (µs) | bare SQLite insert (ms) | per item (µs) | ratio |");
md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
foreach (var r in results)
    md.AppendLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:F1} | {3:F1} | {4:F1} | {5:F1} | {6:F2} |", r.Name, r.N, r.OursMs, r.OursMs * 1000 / r.N, r.BaseMs, r.BaseMs * 1000 / r.N, r.OursMs / r.BaseMs));
File.WriteAllText(Path.Combine(root, "table.md"), md.ToString());
