namespace HpcCampaign;

/// <summary>The unmapped-EPN alert: which EPNs, the rendered bodies, and whether it was sent.</summary>
public sealed class SynchrotronAlertResult
{
    public SynchrotronAlertResult(string subject, string from, string[] to, string smtpServer, bool sent, string reason,
        string[] unknownEpnsWithVisit, string[] unknownEpnsWithoutVisit, string textBody, string htmlBody)
    {
        Subject = subject;
        From = from;
        To = to;
        SmtpServer = smtpServer;
        Sent = sent;
        Reason = reason;
        UnknownEpnsWithVisit = unknownEpnsWithVisit;
        UnknownEpnsWithoutVisit = unknownEpnsWithoutVisit;
        TextBody = textBody;
        HtmlBody = htmlBody;
    }

    public string Subject { get; }
    public string From { get; }
    public string[] To { get; }
    /// <summary>host:port of the SMTP server.</summary>
    public string SmtpServer { get; }
    public bool Sent { get; }
    /// <summary>Why it was (not) sent: Sent, WhatIf, NothingToReport.</summary>
    public string Reason { get; }
    /// <summary>Unmapped EPNs with a portal visit in the look-back window (these trigger the mail).</summary>
    public string[] UnknownEpnsWithVisit { get; }
    /// <summary>Unmapped EPNs on the SFTP host without visit data (they ride along).</summary>
    public string[] UnknownEpnsWithoutVisit { get; }
    public string TextBody { get; }
    public string HtmlBody { get; }

    public override string ToString() => Subject;
}
