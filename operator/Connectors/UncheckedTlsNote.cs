namespace Passbox.Operator.Connectors;

/// <summary>
/// What a passed login tells about a TLS mode that does not check the server's certificate. <c>Preferred</c> is the
/// default, and neither it nor <c>Required</c> would notice an impostor in the server's place, which the password or API
/// key then reached: said in the <c>Validated</c> message, as a kubeconfig's <c>insecure-skip-tls-verify</c> is, rather
/// than left for the owner to know from the documentation. <c>Disabled</c>, written on purpose, gets no note.
/// </summary>
internal static class UncheckedTlsNote
{
    /// <param name="mode">The login's TLS mode.</param>
    /// <param name="mayFallBack">Whether the engine falls back to plain TCP in <c>Preferred</c> (MySQL, OceanBase), as gRPC cannot.</param>
    /// <returns>A sentence to end the message with, starting with a space; empty when the certificate was checked (or TLS is off by choice).</returns>
    public static string For(TlsMode mode, bool mayFallBack) => mode switch
    {
        TlsMode.Preferred when mayFallBack =>
            " The server's certificate was not checked and the connection may have been unencrypted (tls.mode Preferred); " + Advice,
        TlsMode.Preferred or TlsMode.Required => $" The server's certificate was not checked (tls.mode {mode}); " + Advice,
        _ => string.Empty,
    };

    // Kept short: the message is stored in every such credential's status and sent with each of its watch events.
    private const string Advice = "tls.mode VerifyFull checks it.";
}
