using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace NewLlm;

/// <summary>Registers NewLlm.Core's options with a host's services.</summary>
public static class NewLlmCoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="NewLlmOptions"/> (bound to the section <c>Model</c> of <paramref name="configuration"/>),
    /// <see cref="TransformerBaselineOptions"/> (section <c>TransformerBaseline</c>) and <see cref="GenerationOptions"/>
    /// (section <c>Generation</c>), each with its validator, checked when the host starts:
    /// a bad value stops the start with an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> naming it.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The NewLlm section, for example <c>configuration.GetSection("NewLlm")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddNewLlmCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services
            .AddValidatedOptions<NewLlmOptions, NewLlmOptionsValidator>(configuration.GetSection("Model"))
            .AddValidatedOptions<TransformerBaselineOptions, TransformerBaselineOptionsValidator>(configuration.GetSection("TransformerBaseline"))
            .AddValidatedOptions<GenerationOptions, GenerationOptionsValidator>(configuration.GetSection("Generation"));
    }
}
