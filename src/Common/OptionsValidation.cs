// One way to validate options in every NewLlm assembly (linked into each, internal): the failures of one options object
// collected in one message style, "Type.Option must be <rule>, but is <value>.", and one way to throw them.

using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace NewLlm;

/// <summary>Collects the failures of an options object, every one of them, in the message style <c>"Type.Option must be rule, but is value."</c>.</summary>
internal sealed class OptionsFailures(string optionsType)
{
    private readonly List<string> _failures = [];

    /// <summary>Adds a failure unless <paramref name="ok"/>; <paramref name="rule"/> is read after "must be" (e.g. "at least 1", "in [0, 1)").</summary>
    public OptionsFailures Check(bool ok, string option, string rule, object? value)
    {
        if (!ok)
        {
            _failures.Add($"{optionsType}.{option} must be {rule}, but is {Show(value)}.");
        }

        return this;
    }

    /// <summary>Success, or every failure.</summary>
    public ValidateOptionsResult Result => _failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(_failures);

    /// <summary>Runs <paramref name="validator"/> and throws an <see cref="OptionsValidationException"/> naming every bad option; returns <paramref name="options"/> otherwise.</summary>
    public static T ThrowIfInvalid<T>(T options, IValidateOptions<T> validator)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateOptionsResult result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(T), result.Failures);
        }

        return options;
    }

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}

/// <summary>One way each assembly's <c>AddNewLlm*</c> registers an options type.</summary>
internal static class OptionsRegistration
{
    /// <summary>
    /// Binds <typeparamref name="T"/> to <paramref name="section"/>, after <paramref name="configure"/> (defaults that the
    /// section overrides), validates it with <typeparamref name="TValidator"/> and checks it when the host starts.
    /// </summary>
    public static IServiceCollection AddValidatedOptions<T, TValidator>(
        this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration section, Action<T>? configure = null)
        where T : class
        where TValidator : class, IValidateOptions<T>
    {
        var builder = services.AddOptions<T>();
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        builder.Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>, TValidator>());
        return services;
    }
}
