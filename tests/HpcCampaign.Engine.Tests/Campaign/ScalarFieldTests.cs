using System.Text;
using HpcCampaign.Engine.Campaign;
using static HpcCampaign.Tests.Campaign.CampaignTestData;

namespace HpcCampaign.Tests.Campaign;

public sealed class ScalarFieldTests
{
    private static void Npy(string path, string descr, int h, int w, byte[] data)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({h}, {w}), }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var fs = File.Create(path);
        fs.Write(new byte[] { 0x93 }.Concat("NUMPY"u8.ToArray()).Concat(new byte[] { 1, 0 }).ToArray());
        fs.Write(BitConverter.GetBytes((ushort)header.Length));
        fs.Write(Encoding.ASCII.GetBytes(header));
        fs.Write(data);
    }

    [Fact]
    public void NpyFieldIsStoredRawWithSortedMetadata()
    {
        var root = TestEnv.NewTempDir();
        var values = new float[] { 1.5f, -2f, float.NaN, 4f, 0.25f, 3f };
        var data = values.SelectMany(BitConverter.GetBytes).ToArray();
        Npy(Path.Combine(root, "f.npy"), "<f4", 2, 3, data);
        File.WriteAllText(Path.Combine(root, "meta.json"), "{\"units\": \"K\", \"step\": 7}");
        var aca = Path.Combine(root, "s.aca");
        var id = ScalarField.Add(aca, Host, new ScalarFieldRequest
        {
            SourcePath = Path.Combine(root, "f.npy"), Directory = root, MetadataJson = File.ReadAllText(Path.Combine(root, "meta.json")),
        }, null, null);
        var ds = Rows(aca, "SELECT name, uuid, fileformat, tsid, deltime FROM dataset").Single();
        var uuid = (string)ds[1]!;
        Assert.Equal($"memory-scalar-fields/scalar-{uuid[..12]}.raw", ds[0]);
        Assert.Equal("SCALAR_FIELD", ds[2]);
        Assert.Equal('5', uuid[12]);   // UUIDv5 of the content when unnamed
        var meta = (string)Scalar(aca, $"SELECT metadata FROM scalar_field WHERE datasetid = {id}")!;
        Assert.Equal("{\"byte_order\": \"little\", \"compression\": \"none\", \"dtype\": \"float32\", \"encoding\": \"raw\", \"format_version\": 1, " +
                     "\"kind\": \"scalarField\", \"layout\": \"row-major\", \"max\": 4.0, \"min\": -2.0, \"rank\": 2, \"shape\": [2, 3], \"step\": 7, " +
                     "\"units\": \"K\", \"value_encoding\": \"direct\"}", meta);
        Assert.Equal(new object?[] { $"memory-scalar-fields/{uuid}.raw", 24L }, Rows(aca, "SELECT name, size FROM replica").Single());
        Assert.Equal(new object?[] { 3L, 2L }, Rows(aca, "SELECT x, y FROM resolution").Single());
        var file = Rows(aca, "SELECT name, compression, lenorig, data FROM file").Single();
        Assert.Equal(new object?[] { "3x2.float32.raw", 0L, 24L }, file[..3]);
        Assert.Equal(data, file[3]);
    }

    [Fact]
    public void RawInputNeedsShapeAndTypeAndNamedFieldsUseUuid3()
    {
        var root = TestEnv.NewTempDir();
        File.WriteAllBytes(Path.Combine(root, "v.raw"), new byte[] { 1, 2, 3, 4, 5, 6 });
        var aca = Path.Combine(root, "s.aca");
        var ex = Assert.Throws<HpcException>(() => ScalarField.Add(aca, Host, new ScalarFieldRequest { SourcePath = Path.Combine(root, "v.raw"), Directory = root }, null, null));
        Assert.Equal("InvalidScalarField", ex.ErrorId);
        Assert.False(File.Exists(aca));
        ScalarField.Add(aca, Host, new ScalarFieldRequest
        {
            SourcePath = Path.Combine(root, "v.raw"), Directory = root, Shape = new[] { 2, 3 }, DataType = "uint8", DatasetName = "fields/v",
        }, null, null);
        Assert.Equal(CampaignIds.Uuid3Url(root + "/fields/v"), Scalar(aca, "SELECT uuid FROM dataset"));
        Assert.Contains("\"max\": 6, \"min\": 1", (string)Scalar(aca, "SELECT metadata FROM scalar_field")!);
    }
}
