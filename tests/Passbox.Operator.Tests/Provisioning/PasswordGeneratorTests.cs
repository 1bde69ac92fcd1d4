using Passbox.Operator.Provisioning;

namespace Passbox.Operator.Tests.Provisioning;

public sealed class PasswordGeneratorTests
{
    [Theory]
    [InlineData(12)]
    [InlineData(24)]
    [InlineData(64)]
    public void A_generated_password_has_the_length_asked_for_and_every_character_class(int length)
    {
        for (var i = 0; i < 200; i++)
        {
            var password = PasswordGenerator.Generate(length);

            password.Should().HaveLength(length);
            password.Should().ContainAny(PasswordGenerator.Upper.Select(c => c.ToString()));
            password.Should().ContainAny(PasswordGenerator.Lower.Select(c => c.ToString()));
            password.Should().ContainAny(PasswordGenerator.Digits.Select(c => c.ToString()));
            password.Should().ContainAny(PasswordGenerator.Symbols.Select(c => c.ToString()));
            char.IsLetter(password[0]).Should().BeTrue("a password never starts with a digit or symbol");
        }
    }

    [Theory]
    [InlineData(16, true)]
    [InlineData(24, true)]
    [InlineData(24, false)]
    public void From_16_characters_every_class_appears_twice_as_hardened_server_policies_ask(int length, bool symbols)
    {
        // MySQL's validate_password with number_count, special_char_count and mixed_case_count of 2 (or MariaDB's
        // simple_password_check with the same counts) refuses a password that has one of a class only.
        for (var i = 0; i < 2000; i++)
        {
            var password = PasswordGenerator.Generate(length, symbols);

            password.Count(c => PasswordGenerator.Upper.Contains(c)).Should().BeGreaterThanOrEqualTo(2);
            password.Count(c => PasswordGenerator.Lower.Contains(c)).Should().BeGreaterThanOrEqualTo(2);
            password.Count(c => PasswordGenerator.Digits.Contains(c)).Should().BeGreaterThanOrEqualTo(2);
            password.Count(c => PasswordGenerator.Symbols.Contains(c)).Should().BeGreaterThanOrEqualTo(symbols ? 2 : 0).And.BeLessThanOrEqualTo(symbols ? length : 0);
        }
    }

    [Fact]
    public void Without_symbols_only_letters_and_digits_are_used()
    {
        var password = PasswordGenerator.Generate(32, symbols: false);

        password.Should().MatchRegex("^[A-Za-z0-9]{32}$");
    }

    [Fact]
    public void Passwords_use_only_characters_that_need_no_quoting_in_a_URI_a_token_or_SQL()
    {
        var password = string.Concat(Enumerable.Range(0, 50).Select(_ => PasswordGenerator.Generate(64)));

        password.Should().NotContainAny("'", "\"", "\\", "`", ":", "@", "/", "#", "%", ";", " ", "$");
        Uri.EscapeDataString(password).Should().Be(password.Replace("!", "%21", StringComparison.Ordinal).Replace("+", "%2B", StringComparison.Ordinal).Replace("=", "%3D", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_symbol_is_one_a_URL_takes_unescaped_in_its_user_info()
    {
        // RFC 3986 user info: unreserved characters and sub-delims. Go's net/url refuses any other character there
        // ("invalid userinfo"), so a DSN an application builds by hand from the password key would not parse.
        const string unreservedOrSubDelims = "-._~!$&'()*+,;=";

        PasswordGenerator.Symbols.ToCharArray().Should().OnlyContain(c => unreservedOrSubDelims.Contains(c));
    }

    [Fact]
    public void Passwords_fit_Milvus_and_Zilliz_limits_and_do_not_repeat()
    {
        var passwords = Enumerable.Range(0, 1000).Select(_ => PasswordGenerator.Generate()).ToList();

        passwords.Should().OnlyHaveUniqueItems();
        passwords.Should().OnlyContain(p => p.Length >= 8 && p.Length <= 72);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(65)]
    public void Lengths_outside_12_to_64_are_refused(int length)
    {
        var act = () => PasswordGenerator.Generate(length);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
