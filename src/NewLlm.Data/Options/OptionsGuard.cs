using Microsoft.Extensions.Options;

namespace NewLlm.Data;

/// <summary>Runs an <see cref="IValidateOptions{TOptions}"/> and throws <see cref="OptionsValidationException"/> on failure.</summary>
internal static class OptionsGuard
{
    public static T Validate<T>(T options, IValidateOptions<T> validator)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(options);
        var result = validator.Validate(Microsoft.Extensions.Options.Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(T), result.Failures);
        }

        return options;
    }
}
