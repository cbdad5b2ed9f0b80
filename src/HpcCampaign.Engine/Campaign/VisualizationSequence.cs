using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace HpcCampaign.Engine.Campaign;

/// <summary>visualization-sequence (spec §2.1): a manifest of variables and ordered IMAGE or SCALAR_FIELD items.</summary>
public static class VisualizationSequence
{
    private static readonly string[] SharedScalarKeys = { "rank", "shape", "dtype", "byte_order", "layout", "encoding", "compression", "value_encoding" };

    private static HpcException Bad(string manifest, string why) =>
        new("InvalidVisualizationManifest", HpcErrorKind.InvalidData, $"'{manifest}': {why}", manifest);

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? MetadataText(JsonElement e, string name)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString()!.Trim() : ScalarField.SortedJson(v);
    }

    public static CampaignVisualization Add(string archive, string manifestPath, string manifestJson, bool replace)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(manifestJson); }
        catch (JsonException ex) { throw Bad(manifestPath, "not valid JSON: " + ex.Message); }
        using var _ = doc;
        var m = doc.RootElement;
        if (m.ValueKind != JsonValueKind.Object) throw Bad(manifestPath, "the manifest must be a JSON object");
        var name = Str(m, "name") ?? throw Bad(manifestPath, "'name' is required");
        var visType = Str(m, "vis_type") ?? throw Bad(manifestPath, "'vis_type' is required");
        if (!m.TryGetProperty("variables", out var variables) || variables.ValueKind != JsonValueKind.Array) throw Bad(manifestPath, "'variables' (a list) is required");
        if (!m.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array || items.GetArrayLength() == 0) throw Bad(manifestPath, "'items' (a non-empty list) is required");
        replace |= m.TryGetProperty("replace", out var rp) && rp.ValueKind == JsonValueKind.True;
        var source = Str(m, "source_dataset");
        var metadata = MetadataText(m, "metadata");

        return CampaignDb.Write(archive, false, (db, tx) =>
        {
            foreach (var sql in new[] { CampaignSchema.VisSequence, CampaignSchema.VisVariable, CampaignSchema.VisItem, CampaignSchema.ScalarField })
                CampaignSchema.Exec(db, tx, sql.Replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS "));
            object? Q(string sql, params (string, object?)[] args)
            {
                using var c = db.CreateCommand();
                c.Transaction = tx;
                c.CommandText = sql;
                foreach (var (n, v) in args) c.Parameters.AddWithValue(n, v ?? DBNull.Value);
                return c.ExecuteScalar();
            }
            (long Id, string Uuid, string Format) Live(string dsName) =>
                Q("SELECT rowid || '|' || uuid || '|' || fileformat FROM dataset WHERE name = $n AND deltime = 0", ("$n", dsName)) is string s
                    ? (long.Parse(s.Split('|')[0]), s.Split('|')[1], s.Split('|')[2])
                    : throw new HpcException("DatasetNotFound", HpcErrorKind.ObjectNotFound, $"No live dataset named '{dsName}' in '{archive}'.", dsName);

            var varRows = new List<(long DatasetId, string Var, string Role, string Text)>();
            foreach (var v in variables.EnumerateArray())
            {
                string varName, role = "primary";
                string? src = source;
                if (v.ValueKind == JsonValueKind.String) varName = v.GetString()!;
                else
                {
                    varName = Str(v, "name") ?? throw Bad(manifestPath, "a variable needs a 'name'");
                    role = Str(v, "role") ?? Str(v, "use") ?? "primary";
                    src = Str(v, "source_dataset") ?? source;
                }
                if (src is null) throw Bad(manifestPath, $"variable '{varName}' has no source_dataset (and the manifest none)");
                varRows.Add((Live(src).Id, varName, role, $"{role}: {varName} ({src})"));
            }

            var itemRows = new List<(string Type, string Uuid, string? Meta, long DatasetId)>();
            foreach (var it in items.EnumerateArray())
            {
                string? type = null, itemName = null, itemUuid = null, itemMeta = null;
                if (it.ValueKind == JsonValueKind.String) itemName = it.GetString();
                else { type = Str(it, "type"); itemName = Str(it, "name"); itemUuid = Str(it, "uuid"); itemMeta = MetadataText(it, "metadata"); }
                (long Id, string Uuid, string Format) ds;
                if (itemUuid is not null)
                    ds = Q("SELECT name FROM dataset WHERE uuid = $u AND deltime = 0", ("$u", itemUuid)) is string n ? Live(n)
                        : throw new HpcException("DatasetNotFound", HpcErrorKind.ObjectNotFound, $"No live dataset with uuid '{itemUuid}' in '{archive}'.", itemUuid);
                else ds = Live(itemName ?? throw Bad(manifestPath, "an item needs a name or a uuid"));
                type ??= ds.Format;
                if (type is not ("IMAGE" or "SCALAR_FIELD")) throw Bad(manifestPath, $"item type must be IMAGE or SCALAR_FIELD, not '{type}'");
                if (ds.Format != type) throw Bad(manifestPath, $"item '{itemName ?? itemUuid}' is a {ds.Format} dataset, not {type}");
                itemRows.Add((type, ds.Uuid, itemMeta, ds.Id));
            }
            if (itemRows.Select(i => i.Type).Distinct().Count() > 1) throw Bad(manifestPath, "all items must have the same type");
            if (itemRows[0].Type == "SCALAR_FIELD")
            {
                string? first = null;
                foreach (var i in itemRows)
                {
                    var meta = Q("SELECT metadata FROM scalar_field WHERE datasetid = $d", ("$d", i.DatasetId)) as string ?? "{}";
                    using var md = JsonDocument.Parse(meta);
                    var shared = string.Join("|", SharedScalarKeys.Select(k => md.RootElement.TryGetProperty(k, out var x) ? x.GetRawText() : ""));
                    if (first is null) first = shared;
                    else if (shared != first) throw Bad(manifestPath, "scalar-field items must share rank, shape, dtype, byte order, layout, encoding, compression and value encoding");
                }
            }
            var thumbnail = Str(m, "thumbnail_uuid") ?? (Str(m, "thumbnail_name") is { } tn ? Live(tn).Uuid : null);

            var existing = Q("SELECT visid FROM visualization_sequence WHERE name = $n", ("$n", name)) as long?;
            long visId;
            if (existing is long id)
            {
                if (!replace)
                    throw new HpcException("VisualizationExists", HpcErrorKind.ResourceExists,
                        $"Visualization sequence '{name}' exists in '{archive}'; use -Replace.", name);
                visId = id;
                Q("UPDATE visualization_sequence SET vistype = $t, thumbnail_itemuuid = $th, metadata = $m WHERE visid = $v",
                    ("$t", visType), ("$th", thumbnail), ("$m", metadata), ("$v", visId));
                Q("DELETE FROM visualization_variable WHERE visid = $v", ("$v", visId));
                Q("DELETE FROM visualization_item WHERE visid = $v", ("$v", visId));
            }
            else
                visId = (long)Q("INSERT INTO visualization_sequence (name, vistype, thumbnail_itemuuid, metadata) VALUES ($n, $t, $th, $m) RETURNING visid",
                    ("$n", name), ("$t", visType), ("$th", thumbnail), ("$m", metadata))!;
            foreach (var v in varRows)
                Q("INSERT OR IGNORE INTO visualization_variable (visid, datasetid, variable_name, role) VALUES ($v, $d, $n, $r)",
                    ("$v", visId), ("$d", v.DatasetId), ("$n", v.Var), ("$r", v.Role));
            for (int i = 0; i < itemRows.Count; i++)
                Q("INSERT INTO visualization_item (visid, item_order, item_type, item_uuid, metadata) VALUES ($v, $o, $t, $u, $m)",
                    ("$v", visId), ("$o", i), ("$t", itemRows[i].Type), ("$u", itemRows[i].Uuid), ("$m", itemRows[i].Meta));
            return new CampaignVisualization(archive, visId, name, visType, thumbnail, varRows.Select(v => v.Text).ToList(), itemRows.Select(i => i.Uuid).ToList());
        });
    }
}
