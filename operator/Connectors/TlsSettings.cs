namespace Passbox.Operator.Connectors;

/// <summary>TLS for one login.</summary>
/// <param name="Mode">How TLS is used.</param>
/// <param name="CaCertificatePem">
/// PEM with one or more CA certificates to trust instead of the system store (VerifyCA, VerifyFull);
/// null trusts the system store.
/// </param>
public sealed record TlsSettings(TlsMode Mode, string? CaCertificatePem = null)
{
    public static TlsSettings Disabled { get; } = new(TlsMode.Disabled);

    /// <summary>True when the server's certificate is checked against a CA.</summary>
    public bool VerifiesCertificate => Mode is TlsMode.VerifyCA or TlsMode.VerifyFull;

    public override string ToString() =>
        CaCertificatePem is null ? $"TLS {Mode}" : $"TLS {Mode} with custom CA";
}
