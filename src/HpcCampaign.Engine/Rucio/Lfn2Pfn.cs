using System.Security.Cryptography;
using System.Text;

namespace HpcCampaign.Engine.Rucio;

/// <summary>Rucio's deterministic logical-to-physical path algorithms (rse/translation.py).</summary>
public static class Lfn2Pfn
{
    /// <summary>The path below the protocol prefix for scope:name with the named algorithm ("hash" or "identity").</summary>
    public static string Path(string algorithm, string scope, string name) => algorithm switch
    {
        "hash" => Hash(scope, name),
        "identity" => Identity(scope, name),
        _ => throw new HpcException("UnknownLfn2PfnAlgorithm", HpcErrorKind.NotImplemented,
            $"The RSE uses the lfn2pfn algorithm '{algorithm}'; only 'hash' and 'identity' are known.", algorithm),
    };

    /// <summary>{scope}/{h[0:2]}/{h[2:4]}/{name} with h = md5("scope:name"); user/group scopes use '/' for '.'.</summary>
    public static string Hash(string scope, string name)
    {
        var h = Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(scope + ":" + name))).ToLowerInvariant();
        return $"{ScopePath(scope)}/{h[..2]}/{h[2..4]}/{name}";
    }

    public static string Identity(string scope, string name) => $"{ScopePath(scope)}/{name}";

    private static string ScopePath(string scope) =>
        scope.StartsWith("user", StringComparison.Ordinal) || scope.StartsWith("group", StringComparison.Ordinal)
            ? scope.Replace('.', '/')
            : scope;
}
