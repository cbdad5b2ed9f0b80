namespace HpcCampaign;

/// <summary>What a key file says about itself. Never carries the key.</summary>
public sealed class CampaignKeyInfo
{
    public CampaignKeyInfo(string path, string id, string note, DateTimeOffset? created, bool isProtected)
    {
        Path = path;
        Id = id;
        Note = note;
        Created = created;
        IsProtected = isProtected;
    }

    public string Path { get; }
    /// <summary>The key id (32 hex chars) recorded in archives as key.keyid.</summary>
    public string Id { get; }
    public string Note { get; }
    public DateTimeOffset? Created { get; }
    /// <summary>True when the key is sealed with a password (Argon2i).</summary>
    public bool IsProtected { get; }
    public override string ToString() => Id;
}

/// <summary>Result of Test-CampaignKey.</summary>
public sealed class CampaignKeyTestResult
{
    public CampaignKeyTestResult(string path, string id, bool isProtected, bool isValid, string message)
    {
        Path = path;
        Id = id;
        IsProtected = isProtected;
        IsValid = isValid;
        Message = message;
    }

    public string Path { get; }
    public string Id { get; }
    public bool IsProtected { get; }
    public bool IsValid { get; }
    public string Message { get; }
    public override string ToString() => $"{Id}: {(IsValid ? "valid" : "invalid")}";
}
