using System.ComponentModel.DataAnnotations;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>A key of a Secret in the credential's own namespace.</summary>
public sealed class SecretKeyReference
{
    /// <summary>Name of the Secret, in the same namespace as the credential.</summary>
    [Required]
    [StringLength(253, MinimumLength = 1)]
    [RegularExpression(ValidationPatterns.DnsSubdomain)]
    public string Name { get; set; } = "";

    /// <summary>Key inside the Secret's data.</summary>
    [Required]
    [StringLength(253, MinimumLength = 1)]
    [RegularExpression(ValidationPatterns.SecretKey)]
    public string Key { get; set; } = "";

    public override string ToString() => $"{Name}/{Key}";
}
