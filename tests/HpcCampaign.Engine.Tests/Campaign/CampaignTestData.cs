using HpcCampaign.Engine.Campaign;
using Microsoft.Data.Sqlite;
using PureHDF;
using SkiaSharp;

namespace HpcCampaign.Tests.Campaign;

/// <summary>Source files for campaign tests, all made here: BP4/BP5 folders, HDF5 (PureHDF), PNG (SkiaSharp), text.</summary>
internal static class CampaignTestData
{
    public static readonly CampaignHost Host = new() { ShortName = "testhost", LongName = "testhost.example.org" };

    public static void Bp(string dir, bool bp5, int seed = 1)
    {
        Directory.CreateDirectory(dir);
        var rnd = new Random(seed);
        byte[] Bytes(int n) { var b = new byte[n]; rnd.NextBytes(b); return b; }
        File.WriteAllBytes(Path.Combine(dir, "md.0"), Bytes(300));
        if (bp5) File.WriteAllBytes(Path.Combine(dir, "mmd.0"), Bytes(100));
        File.WriteAllBytes(Path.Combine(dir, "md.idx"), Bytes(64));
        File.WriteAllBytes(Path.Combine(dir, "data.0"), Bytes(4000));
        File.WriteAllText(Path.Combine(dir, "profiling.json"), "[{\"rank\":0}]");
    }

    public static void Hdf5(string path)
    {
        var file = new H5File
        {
            ["small"] = Enumerable.Range(1, 10).ToArray(),
            ["group"] = new H5Group
            {
                ["big"] = new H5Dataset(Enumerable.Range(0, 1000).Select(i => i * 0.5).ToArray()) { Attributes = { ["units"] = "m" } },
            },
        };
        file.Attributes["title"] = "demo";
        file.Write(path);
    }

    public static void Png(string path, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap)) canvas.Clear(SKColors.CornflowerBlue);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    public static CampaignItemRequest Item(string root, string rel, CampaignItemKind kind, bool store = false, int tw = 0, int th = 0, string? name = null) =>
        new()
        {
            SourcePath = Path.Combine(root, rel), ReplicaName = rel, Directory = root, Kind = kind, Store = store,
            ThumbnailWidth = tw, ThumbnailHeight = th, DatasetName = name,
        };

    public static SqliteConnection Open(string path) =>
        new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString())
            .Also(c => c.Open());

    private static T Also<T>(this T value, Action<T> action) { action(value); return value; }

    public static List<object?[]> Rows(string path, string sql)
    {
        using var db = Open(path);
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < r.FieldCount; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            list.Add(row);
        }
        return list;
    }

    public static object? Scalar(string path, string sql) => Rows(path, sql).FirstOrDefault()?[0];
}
