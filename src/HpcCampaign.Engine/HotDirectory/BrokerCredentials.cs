namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Broker URLs and passwords. A config holds the URL without a password; the password comes from a PSCredential or
/// from an sr3-style credentials.conf (one URL with password per line, matched on scheme, host, port, user and vhost).
/// Passwords never appear in messages: use <see cref="Mask"/> for anything shown.
/// </summary>
public static class BrokerCredentials
{
    public static string? UserFromUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url) || !Uri.TryCreate(url, UriKind.Absolute, out var u) || u.UserInfo.Length == 0) return null;
        return Uri.UnescapeDataString(u.UserInfo.Split(':')[0]);
    }

    /// <summary>The URL with any password replaced by ***.</summary>
    public static string Mask(string? url)
    {
        if (string.IsNullOrEmpty(url)) return "";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || !u.UserInfo.Contains(':')) return url;
        var user = u.UserInfo.Split(':')[0];
        return new UriBuilder(u) { UserName = user, Password = "***" }.Uri.ToString();
    }

    /// <summary>Builds the URL to connect with: explicit user/password first, else a credentials.conf match, else the URL as given.</summary>
    public static Uri Resolve(string url, string? user, string? password, string? credentialsFile)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u))
            throw new HpcException("InvalidBrokerUrl", HpcErrorKind.InvalidArgument, $"'{Mask(url)}' is not a valid broker URL.");
        var b = new UriBuilder(u);
        var urlUser = u.UserInfo.Length == 0 ? null : Uri.UnescapeDataString(u.UserInfo.Split(':')[0]);
        if (user is not null) b.UserName = Uri.EscapeDataString(user);
        if (password is not null)
        {
            b.Password = Uri.EscapeDataString(password);
            return b.Uri;
        }
        if (u.UserInfo.Contains(':')) return u;
        var file = credentialsFile ?? DefaultCredentialsFile();
        if (file is not null && File.Exists(file))
        {
            foreach (var raw in File.ReadLines(file))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var urlPart = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries)[0];
                if (!Uri.TryCreate(urlPart, UriKind.Absolute, out var c) || !c.UserInfo.Contains(':')) continue;
                var cUser = Uri.UnescapeDataString(c.UserInfo.Split(':')[0]);
                var wantUser = user ?? urlUser;
                if (!c.Scheme.Equals(u.Scheme, StringComparison.OrdinalIgnoreCase)) continue;
                if (!c.Host.Equals(u.Host, StringComparison.OrdinalIgnoreCase)) continue;
                if (c.Port != u.Port) continue;
                if (wantUser is not null && cUser != wantUser) continue;
                if (VHost(c) != VHost(u)) continue;
                var found = new UriBuilder(u) { UserName = c.UserInfo.Split(':')[0], Password = c.UserInfo.Split(':', 2)[1] };
                return found.Uri;
            }
        }
        return b.Uri;
    }

    private static string VHost(Uri u)
    {
        var p = Uri.UnescapeDataString(u.AbsolutePath.TrimStart('/'));
        return p.Length == 0 ? "/" : p;
    }

    private static string? DefaultCredentialsFile()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var ours = Path.Combine(Config.ConfigPaths.ConfigDirectory, "credentials.conf");
        if (File.Exists(ours)) return ours;
        var sr3 = Path.Combine(home, ".config", "sr3", "credentials.conf");
        return File.Exists(sr3) ? sr3 : null;
    }
}
