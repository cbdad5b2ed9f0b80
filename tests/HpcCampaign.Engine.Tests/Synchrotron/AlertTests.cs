using HpcCampaign.Engine.Synchrotron;
using MimeKit;

namespace HpcCampaign.Tests.Synchrotron;

/// <summary>Listing over the real sshd, visits from PortalStandIn, delivery to the real STARTTLS+AUTH SMTP sink (smtp-tls.sh).</summary>
public class AlertTests
{
    private static string SmtpsHost => TestEnv.Require("HPCC_TEST_SMTPS_HOST");
    private static string SmtpsPort => TestEnv.Require("HPCC_TEST_SMTPS_PORT");
    private static string SmtpsMaildir => TestEnv.Require("HPCC_TEST_SMTPS_MAILDIR");
    private static System.Net.NetworkCredential SmtpsCredential =>
        new(TestEnv.Require("HPCC_TEST_SMTPS_USER"), TestEnv.Require("HPCC_TEST_SMTPS_PASSWORD"));

    private static (SynchrotronWorld, PortalStandIn) World(string marker, [System.Runtime.CompilerServices.CallerMemberName] string name = "")
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir(name.Length > 36 ? name[..36] : name));
        w.AddEpn("12282a");
        w.AddEpn("77777a");
        w.AddEpn("88888b");
        w.AddEpn("12345c");
        Directory.CreateDirectory(Path.Combine(w.SourceRoot, "mx", "not-an-epn"));
        SynchrotronWorld.MakeWorldReadable(w.Root);
        var portal = new PortalStandIn();
        var now = DateTimeOffset.Now;
        portal.AddVisit(23, new("77777a", now.AddDays(-3), now.AddDays(-2), new("Ada", "Lovelace", "ada@example.org"),
            new PortalStandIn.Person[] { new("Alan", "Turing", "alan@example.org"), new("Grace", "Hopper", "grace<x>@example.org") }));
        portal.AddVisit(24, new("12282a", now.AddDays(-3), now.AddDays(-2), new("Ada", "Lovelace", "ada@example.org"), Array.Empty<PortalStandIn.Person>()));
        var templates = Path.Combine(w.Root, "templates");
        Directory.CreateDirectory(templates);
        File.WriteAllText(Path.Combine(templates, "epnalert-text.j2"), $"Marker {marker}\n{{{{ epn_details }}}}\nWithout visit:\n{{{{ unknown_epns }}}}\n");
        File.WriteAllText(Path.Combine(templates, "epnalert-html.j2"), $"<p>Marker {marker}</p><pre>{{{{ epn_details }}}}</pre><pre>{{{{ unknown_epns }}}}</pre>\n");
        w.WriteConfig(portal.BaseUrl, map: "  12282: ny79\n  12345: zz99\n", extra:
            "epnalert-email-to: helpdesk@example.org\nepnalert-email-from: mxsync@example.org\n" +
            $"epnalert-email-smtp: {SmtpsHost}\nepnalert-email-smtp-port: {SmtpsPort}\nepnalert-email-smtp-security: StartTls\n" +
            $"epnalert-email-smtp-ca-file: {TestEnv.Require("HPCC_TEST_SMTPS_CERT")}\n" +
            $"epnalert-template-folder: {templates}\nepnalert-template-text: epnalert-text.j2\nepnalert-template-html: epnalert-html.j2\n");
        return (w, portal);
    }

    private static string? MailWithMarker(string marker, int seconds = 10)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var dir = Path.Combine(SmtpsMaildir, "new");
            foreach (var f in Directory.Exists(dir) ? Directory.GetFiles(dir) : Array.Empty<string>())
                if (File.ReadAllText(f).Contains(marker)) return f;
            Thread.Sleep(100);
        }
        return null;
    }

    [Fact]
    public async Task AlertMailArrivesOverStartTlsWithTheUnmappedEpns()
    {
        var marker = Guid.NewGuid().ToString("N");
        var (w, portal) = World(marker);
        using var _ = portal;
        var config = SynchrotronConfig.Load(w.ConfigPath);
        using var http = new HttpClient();
        var sink = new CollectingSink();
        var result = await new EpnAlert(config).RunAsync(new EpnFinder(config, http), SmtpsCredential, send: true, force: false, sink, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.True(result.Sent);
        Assert.Equal(new[] { "77777a" }, result.UnknownEpnsWithVisit);
        Assert.Equal(new[] { "88888b" }, result.UnknownEpnsWithoutVisit);

        var file = MailWithMarker(marker);
        Assert.NotNull(file);
        var raw = File.ReadAllText(file!);
        Assert.Contains("X-MailFrom: mxsync@example.org", raw);
        var message = MimeMessage.Load(file!);
        Assert.Equal("Unknown ownership of EPNs", message.Subject);
        Assert.Equal("mxsync@example.org", message.From.Mailboxes.Single().Address);
        Assert.Equal("helpdesk@example.org", message.To.Mailboxes.Single().Address);
        Assert.IsType<MultipartAlternative>(message.Body);
        var text = message.TextBody!.Replace("\r\n", "\n");
        Assert.Contains($"Marker {marker}\nEpn 77777a on ", text);
        Assert.Contains(" is not known.\nPrincipal scientist: Ada Lovelace ada@example.org\nIt includes scientists:\n", text);
        Assert.Contains("First name  Last name  Email\n----------  ---------  --------------------\nAlan        Turing     alan@example.org\n", text);
        Assert.Contains("** Please add it the config. **", text);
        Assert.Contains("Without visit:\n------\n88888b\n------\n", text);
        Assert.DoesNotContain("12282a", text);
        Assert.DoesNotContain("12345c", text);
        Assert.DoesNotContain("not-an-epn", text);
        var html = message.HtmlBody!;
        Assert.Contains("grace&lt;x&gt;@example.org", html);
        Assert.Contains("<pre>Epn 77777a on", html);
        Assert.Contains("is not known.\nPrincipal scientist:", html.Replace("\r\n", "\n"));
    }

    [Fact]
    public async Task WhatIfNothingToReportAndWrongSmtpPasswordAreHandled()
    {
        var marker = Guid.NewGuid().ToString("N");
        var (w, portal) = World(marker);
        using var _ = portal;
        var config = SynchrotronConfig.Load(w.ConfigPath);
        using var http = new HttpClient();
        var preview = await new EpnAlert(config).RunAsync(new EpnFinder(config, http), SmtpsCredential, send: false, force: false, new CollectingSink(), CancellationToken.None);
        Assert.Equal((false, "WhatIf"), (preview.Sent, preview.Reason));
        Assert.Contains("Epn 77777a", preview.TextBody);

        var wrong = new System.Net.NetworkCredential(SmtpsCredential.UserName, "not-the-password");
        var ex = await Assert.ThrowsAsync<HpcException>(() => new EpnAlert(config).RunAsync(new EpnFinder(config, http), wrong, true, false, new CollectingSink(), CancellationToken.None));
        Assert.Equal(("SmtpAuthenticationFailed", HpcErrorKind.AuthenticationError), (ex.ErrorId, ex.Kind));
        Assert.DoesNotContain("not-the-password", ex.Message);
        Assert.Null(MailWithMarker(marker, 2));

        portal.Visits.Clear();
        var nothing = await new EpnAlert(config).RunAsync(new EpnFinder(config, http), SmtpsCredential, true, false, new CollectingSink(), CancellationToken.None);
        Assert.Equal((false, "NothingToReport"), (nothing.Sent, nothing.Reason));
        Assert.Equal(new[] { "77777a", "88888b" }, nothing.UnknownEpnsWithoutVisit);
        Assert.Null(MailWithMarker(marker, 2));
    }
}
