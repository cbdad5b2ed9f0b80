using YamlDotNet.RepresentationModel;

namespace HpcCampaign.Engine.Config;

/// <summary>Small helpers to read YAML documents as plain nodes with clear errors.</summary>
public static class YamlDoc
{
    /// <summary>Loads the first document's root node, or null for an empty file. Syntax errors become InvalidConfigFile.</summary>
    public static YamlNode? LoadRoot(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            var stream = new YamlStream();
            stream.Load(reader);
            return stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode;
        }
        catch (YamlDotNet.Core.YamlException ex)
        {
            throw new HpcException("InvalidConfigFile", HpcErrorKind.InvalidData,
                $"'{path}' is not valid YAML (line {ex.Start.Line}): {ex.Message}", path, ex);
        }
    }

    public static string? Scalar(YamlNode? node) => node is YamlScalarNode s ? s.Value : null;

    public static YamlNode? Child(YamlNode? node, string key)
    {
        if (node is not YamlMappingNode map) return null;
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode ks && ks.Value == key) return v;
        return null;
    }

    public static IEnumerable<(string Key, YamlNode Value)> Entries(YamlNode? node)
    {
        if (node is not YamlMappingNode map) yield break;
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode ks && ks.Value is not null) yield return (ks.Value, v);
    }

    public static IEnumerable<string> Strings(YamlNode? node)
    {
        if (node is YamlSequenceNode seq)
            foreach (var item in seq.Children)
                if (item is YamlScalarNode s && s.Value is not null) yield return s.Value;
    }
}
