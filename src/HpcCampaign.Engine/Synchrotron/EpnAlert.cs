using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Fluid;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace HpcCampaign.Engine.Synchrotron;

/// <summary>
/// epnalert: EPN folders on the SFTP host whose number is not in epn_cap_map, matched with portal visits of the
/// look-back window, rendered into the text and HTML templates (variables epn_details and unknown_epns; Liquid,
/// so Jinja2's {{ var }} templates work as they are) and mailed over SMTP (STARTTLS and AUTH when configured).
/// The mail goes out when at least one unknown EPN has a visit (as the original), or with ReportWithoutVisit
/// also for unknown EPNs without one.
/// </summary>
public sealed class EpnAlert
{
    public const string DefaultTextTemplate =
        "The following EPNs were found on the beamline storage but have no project in epn_cap_map.\n\n" +
        "{{ epn_details }}\n\nOther unknown EPNs (no visit in the look-back window):\n{{ unknown_epns }}\n";
    public const string DefaultHtmlTemplate =
        "<html><body><p>The following EPNs were found on the beamline storage but have no project in epn_cap_map.</p>\n" +
        "<pre>{{ epn_details }}</pre>\n<p>Other unknown EPNs (no visit in the look-back window):</p>\n<pre>{{ unknown_epns }}</pre>\n</body></html>\n";

    private readonly SynchrotronConfig _config;
    public EpnAlert(SynchrotronConfig config) => _config = config;

    /// <summary>
    /// The whole epnalert run: list the SFTP host, fetch visits, build and render, then send when there is something
    /// to report (or <paramref name="force"/>) and <paramref name="send"/> (false = -WhatIf).
    /// </summary>
    public async Task<SynchrotronAlertResult> RunAsync(EpnFinder finder, System.Net.NetworkCredential? smtpCredential, bool send, bool force,
        IHpcSink sink, CancellationToken ct)
    {
        var keyFile = _config.Require(_config.KeyFile, "key-file");
        if (!File.Exists(keyFile))
            throw new HpcException("KeyFileNotFound", HpcErrorKind.ObjectNotFound, $"SSH key file '{keyFile}' (key-file) does not exist.", keyFile);
        var recipients = Recipients;
        var server = SmtpServer;
        smtpCredential ??= CredentialFromConfig();
        sink.Verbose($"Listing {Rsync.RemoteSpec(_config, _config.ListingRoot)}");
        var names = await ListRemoteEpnsAsync(keyFile, ct).ConfigureAwait(false);
        var visits = await finder.RecentVisitsAsync(sink, ct).ConfigureAwait(false);
        var content = Build(names, visits, sink);
        var message = ToMessage(content);
        SynchrotronAlertResult Result(bool sent, string reason) => new(_config.Subject, _config.EmailFrom!, recipients, server, sent, reason,
            content.WithVisit, content.WithoutVisit, content.TextBody, content.HtmlBody);
        if (!content.ShouldSend && !force)
        {
            sink.Verbose("No unmapped EPN with a visit in the look-back window: no mail.");
            return Result(false, "NothingToReport");
        }
        if (!send) return Result(false, "WhatIf");
        sink.Verbose($"Sending '{_config.Subject}' to {string.Join(", ", recipients)} via {server}");
        await SendAsync(message, smtpCredential, ct).ConfigureAwait(false);
        return Result(true, "Sent");
    }

    /// <summary>Remote EPN folder names (the listing of the source root), via rsync over ssh like the original.</summary>
    public async Task<List<string>> ListRemoteEpnsAsync(string keyFile, CancellationToken ct)
    {
        var run = await Rsync.RunAsync(Rsync.ListArguments(_config, keyFile, _config.ListingRoot), null, ct).ConfigureAwait(false);
        if (run.ExitCode != 0) throw Rsync.Classify(run, _config.ListingRoot, Rsync.RemoteSpec(_config, _config.ListingRoot), "");
        var names = new List<string>();
        foreach (var line in run.Output)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 5 || parts[^1] == ".") continue;
            names.Add(parts[^1]);
        }
        return names;
    }

    /// <summary>Builds the alert from a listing and the visits; renders both bodies. Nothing is sent here.</summary>
    public AlertContent Build(IEnumerable<string> remoteNames, IEnumerable<PortalVisit> visits, IHpcSink sink)
    {
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in remoteNames)
        {
            if (!EpnName.IsValid(name))
            {
                sink.Verbose($"'{name}' on the SFTP host is not an EPN name; not reported.");
                continue;
            }
            if (EpnName.ProjectOf(_config, name) is null) unknown.Add(name);
        }
        var byEpn = new Dictionary<string, PortalVisit>(StringComparer.Ordinal);
        foreach (var v in visits)
            if (unknown.Contains(v.Epn) && !byEpn.ContainsKey(v.Epn)) byEpn[v.Epn] = v;

        var details = new StringBuilder();
        foreach (var (epn, v) in byEpn.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var start = v.StartTime?.ToString("yyyy-MM-dd HH:mm:sszzz", CultureInfo.InvariantCulture) ?? "(unknown start)";
            details.Append(CultureInfo.InvariantCulture, $"Epn {epn} on {start} is not known.\n");
            var ps = v.PrincipalScientist;
            details.Append(CultureInfo.InvariantCulture, $"Principal scientist: {ps?.FirstNames} {ps?.LastName} {ps?.Email}\n");
            details.Append("It includes scientists:\n");
            details.Append(TextTable.Render(new[] { "First name", "Last name", "Email" },
                v.DataScientists.Select(p => new[] { p.FirstNames, p.LastName, p.Email })));
            details.Append("** Please add it the config. **\n\n");
        }
        var without = unknown.Where(e => !byEpn.ContainsKey(e)).ToList();
        var unknownTable = without.Count == 0 ? "" : TextTable.Render(null, without.Chunk(8).Select(c => c.ToArray()));
        var values = new Dictionary<string, string> { ["epn_details"] = details.ToString(), ["unknown_epns"] = unknownTable };
        var (text, html) = RenderTemplates(values);
        return new AlertContent(byEpn.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), without.ToArray(), text, html,
            byEpn.Count > 0 || (_config.ReportWithoutVisit && without.Count > 0));
    }

    private (string Text, string Html) RenderTemplates(IReadOnlyDictionary<string, string> values)
    {
        string Load(string? name, string fallback)
        {
            if (name is null) return fallback;
            var folder = _config.TemplateFolder ?? Path.GetDirectoryName(_config.Path) ?? ".";
            var path = Path.IsPathRooted(name) ? name : Path.Combine(folder, name);
            if (!File.Exists(path))
                throw new HpcException("TemplateNotFound", HpcErrorKind.ObjectNotFound, $"Alert template '{path}' does not exist.", path);
            return File.ReadAllText(path);
        }
        var parser = new FluidParser();
        string Render(string source, string label, bool html)
        {
            if (!parser.TryParse(source, out var template, out var error))
                throw new HpcException("InvalidTemplate", HpcErrorKind.InvalidData, $"The {label} alert template does not parse: {error}", label);
            var context = new TemplateContext();
            // HTML gets the values escaped (<, >, &, quotes) but newlines kept, so <pre> blocks stay readable
            foreach (var (k, v) in values) context.SetValue(k, html ? System.Net.WebUtility.HtmlEncode(v) : v);
            return template.Render(context, NullEncoder.Default);
        }
        return (Render(Load(_config.TemplateText, DefaultTextTemplate), "text", false),
                Render(Load(_config.TemplateHtml, DefaultHtmlTemplate), "HTML", true));
    }

    private System.Net.NetworkCredential? CredentialFromConfig()
    {
        if (_config.SmtpUser is null) return null;
        var file = _config.Require(_config.SmtpPasswordFile, "epnalert-email-smtp-password-file");
        if (!File.Exists(file))
            throw new HpcException("SmtpPasswordFileNotFound", HpcErrorKind.ObjectNotFound, $"SMTP password file '{file}' does not exist.", file);
        return new System.Net.NetworkCredential(_config.SmtpUser, File.ReadAllText(file).TrimEnd('\r', '\n'));
    }

    public MimeMessage ToMessage(AlertContent content)
    {
        var message = new MimeMessage();
        message.From.Add(ParseAddress(_config.Require(_config.EmailFrom, "epnalert-email-from")));
        foreach (var to in Recipients) message.To.Add(ParseAddress(to));
        message.Subject = _config.Subject;
        message.Body = new MultipartAlternative
        {
            new TextPart("plain") { Text = content.TextBody },
            new TextPart("html") { Text = content.HtmlBody },
        };
        return message;
    }

    public string[] Recipients => _config.Require(_config.EmailTo, "epnalert-email-to")
        .Split(new[] { ',', ';' }, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string SmtpServer => $"{_config.Require(_config.SmtpHost, "epnalert-email-smtp")}:{_config.SmtpPort}";

    public async Task SendAsync(MimeMessage message, System.Net.NetworkCredential? credential, CancellationToken ct)
    {
        var host = _config.Require(_config.SmtpHost, "epnalert-email-smtp");
        var security = _config.SmtpSecurity.ToLowerInvariant() switch
        {
            "none" => SecureSocketOptions.None,
            "starttls" => SecureSocketOptions.StartTls,
            "sslonconnect" or "ssl" or "tls" => SecureSocketOptions.SslOnConnect,
            "auto" => SecureSocketOptions.StartTlsWhenAvailable,
            _ => throw new HpcException("InvalidConfigValue", HpcErrorKind.InvalidData,
                $"epnalert-email-smtp-security must be None, StartTls, SslOnConnect or Auto, not '{_config.SmtpSecurity}'.", _config.Path),
        };
        using var client = new SmtpClient();
        client.Timeout = 60_000;
        if (_config.SmtpCaFile is { } caFile) client.ServerCertificateValidationCallback = (_, cert, _, errors) => TrustedBy(caFile, cert, errors);
        try
        {
            await client.ConnectAsync(host, _config.SmtpPort, security, ct).ConfigureAwait(false);
            if (credential is not null)
                await client.AuthenticateAsync(credential.UserName, credential.Password, ct).ConfigureAwait(false);
            await client.SendAsync(message, ct).ConfigureAwait(false);
            await client.DisconnectAsync(true, ct).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            throw new HpcException("SmtpAuthenticationFailed", HpcErrorKind.AuthenticationError,
                $"The SMTP server {SmtpServer} refused the credentials: {ex.Message}", SmtpServer, ex);
        }
        catch (SslHandshakeException ex)
        {
            throw new HpcException("SmtpTlsFailed", HpcErrorKind.AuthenticationError,
                $"TLS with {SmtpServer} failed (certificate not trusted? set epnalert-email-smtp-ca-file): {ex.Message}", SmtpServer, ex);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or SmtpProtocolException)
        {
            throw new HpcException("SmtpUnreachable", HpcErrorKind.ConnectionError, $"Cannot deliver to {SmtpServer}: {ex.Message}", SmtpServer, ex);
        }
        catch (SmtpCommandException ex)
        {
            throw new HpcException("SmtpRejected", HpcErrorKind.InvalidOperation, $"{SmtpServer} rejected the mail: {ex.Message}", SmtpServer, ex);
        }
        catch (NotSupportedException ex)
        {
            throw new HpcException("SmtpTlsFailed", HpcErrorKind.InvalidOperation, $"{SmtpServer}: {ex.Message}", SmtpServer, ex);
        }
    }

    private static bool TrustedBy(string caFile, X509Certificate? cert, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(cert);
        return chain.Build(leaf);
    }

    private MailboxAddress ParseAddress(string s) =>
        MailboxAddress.TryParse(s, out var a) ? a
            : throw new HpcException("InvalidEmailAddress", HpcErrorKind.InvalidData, $"'{s}' in '{_config.Path}' is not an e-mail address.", s);
}

public sealed record AlertContent(string[] WithVisit, string[] WithoutVisit, string TextBody, string HtmlBody, bool ShouldSend);

/// <summary>Plain-text tables in the shape of Python tabulate's "simple" format (the original's e-mail layout).</summary>
public static class TextTable
{
    public static string Render(string[]? headers, IEnumerable<string[]> rows)
    {
        var data = rows.ToList();
        var columns = Math.Max(headers?.Length ?? 0, data.Count == 0 ? 0 : data.Max(r => r.Length));
        if (columns == 0) return "";
        var widths = new int[columns];
        for (var c = 0; c < columns; c++)
        {
            widths[c] = headers is not null && c < headers.Length ? headers[c].Length : 0;
            foreach (var r in data) if (c < r.Length) widths[c] = Math.Max(widths[c], r[c].Length);
        }
        var sb = new StringBuilder();
        string Row(string[] cells) => string.Join("  ", Enumerable.Range(0, columns).Select(c => (c < cells.Length ? cells[c] : "").PadRight(widths[c]))).TrimEnd();
        var rule = string.Join("  ", widths.Select(w => new string('-', w)));
        if (headers is not null) sb.Append(Row(headers)).Append('\n').Append(rule).Append('\n');
        else sb.Append(rule).Append('\n');
        foreach (var r in data) sb.Append(Row(r)).Append('\n');
        if (headers is null) sb.Append(rule).Append('\n');
        return sb.ToString();
    }
}
