using System.Security.Cryptography;
using System.Text;

namespace HpcCampaign.Engine.Campaign;

/// <summary>Dataset UUIDs (spec §1.3): Python uuid.uuid3/uuid5 as 32 lowercase hex chars.</summary>
public static class CampaignIds
{
    private static readonly byte[] UrlNamespace = Convert.FromHexString("6ba7b8119dad11d180b400c04fd430c8");
    private static readonly byte[] OidNamespace = Convert.FromHexString("6ba7b8129dad11d180b400c04fd430c8");

    /// <summary>UUIDv3 (MD5) in the URL namespace of <paramref name="name"/>.</summary>
    public static string Uuid3Url(string name) => NameBased(UrlNamespace, name, 3);

    /// <summary>UUIDv5 (SHA-1) in the OID namespace.</summary>
    public static string Uuid5Oid(string name) => NameBased(OidNamespace, name, 5);

    /// <summary>The uuid of a file dataset: UUIDv3(URL, directory + "/" + path).</summary>
    public static string ForPath(string directory, string relativePath) => Uuid3Url(directory + "/" + relativePath);

    private static string NameBased(byte[] ns, string name, int version)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[ns.Length + nameBytes.Length];
        ns.CopyTo(input, 0);
        nameBytes.CopyTo(input, ns.Length);
        var hash = version == 3 ? MD5.HashData(input) : SHA1.HashData(input);
        var b = hash.AsSpan(0, 16).ToArray();
        b[6] = (byte)((b[6] & 0x0F) | (version << 4));
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        return Convert.ToHexString(b).ToLowerInvariant();
    }
}
