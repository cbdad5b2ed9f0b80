using HpcCampaign.Engine.Campaign;
using static HpcCampaign.Tests.Campaign.CampaignTestData;

namespace HpcCampaign.Tests.Campaign;

public sealed class VisualizationTests
{
    [Fact]
    public void ManifestBecomesSequenceVariableAndItemRows()
    {
        var root = TestEnv.NewTempDir();
        Bp(Path.Combine(root, "run.bp"), bp5: true);
        Png(Path.Combine(root, "a.png"), 20, 10);
        Png(Path.Combine(root, "b.png"), 20, 10);
        var aca = Path.Combine(root, "v.aca");
        CampaignAdd.Add(new CampaignAddOptions { ArchivePath = aca, Host = Host },
            new[] { Item(root, "run.bp", CampaignItemKind.Dataset), Item(root, "a.png", CampaignItemKind.Image, store: true), Item(root, "b.png", CampaignItemKind.Image) },
            new CollectingSink(), CancellationToken.None);
        const string manifest = """
            {"name": "temperature", "vis_type": "pseudocolor", "source_dataset": "run.bp",
             "variables": ["T", {"name": "U", "role": "color-by"}],
             "items": ["a.png", {"type": "IMAGE", "name": "b.png", "metadata": {"step": 2, "a": true}}],
             "thumbnail_name": "a.png", "metadata": {"z": 1, "a": "x"}}
            """;
        var vis = VisualizationSequence.Add(aca, "m.json", manifest, replace: false);
        var uuidA = (string)Scalar(aca, "SELECT uuid FROM dataset WHERE name = 'a.png'")!;
        var uuidB = (string)Scalar(aca, "SELECT uuid FROM dataset WHERE name = 'b.png'")!;
        Assert.Equal(new object?[] { vis.VisualizationId, "temperature", "pseudocolor", uuidA, "{\"a\": \"x\", \"z\": 1}" },
            Rows(aca, "SELECT visid, name, vistype, thumbnail_itemuuid, metadata FROM visualization_sequence").Single());
        Assert.Equal(new[] { "T|primary", "U|color-by" }, Rows(aca, "SELECT variable_name || '|' || role FROM visualization_variable WHERE datasetid = 1 ORDER BY variable_name").Select(r => (string)r[0]!));
        Assert.Equal(new[] { $"0|IMAGE|{uuidA}|", $"1|IMAGE|{uuidB}|{{\"a\": true, \"step\": 2}}" },
            Rows(aca, "SELECT item_order || '|' || item_type || '|' || item_uuid || '|' || ifnull(metadata, '') FROM visualization_item ORDER BY item_order").Select(r => (string)r[0]!));

        var before = File.ReadAllBytes(aca);
        Assert.Equal("VisualizationExists", Assert.Throws<HpcException>(() => VisualizationSequence.Add(aca, "m.json", manifest, false)).ErrorId);
        var mixed = manifest.Replace("\"items\": [\"a.png\"", "\"items\": [\"run.bp\"");
        Assert.Equal("InvalidVisualizationManifest", Assert.Throws<HpcException>(() => VisualizationSequence.Add(aca, "m.json", mixed, true)).ErrorId);
        Assert.Equal(before, File.ReadAllBytes(aca));

        VisualizationSequence.Add(aca, "m.json", manifest.Replace("\"b.png\", \"metadata\"", "\"a.png\", \"metadata\""), replace: true);
        Assert.Equal(1L, Scalar(aca, "SELECT count(*) FROM visualization_sequence"));
        Assert.Equal(2L, Scalar(aca, "SELECT count(*) FROM visualization_item WHERE item_uuid = '" + uuidA + "'"));
    }
}
