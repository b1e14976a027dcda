using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace NewLlm.Training;

/// <summary>Registers all of NewLlm (Core, Data, Training) with a host's services in one call.</summary>
public static class NewLlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers every NewLlm option, each bound to its section of <paramref name="configuration"/> and checked by its
    /// validator when the host starts: <c>Model</c>, <c>Generation</c> (<see cref="NewLlmCoreServiceCollectionExtensions.AddNewLlmCore"/>),
    /// <c>Hub</c>, <c>Corpus</c>, <c>DialogueCorpus</c> and the Hub client (<see cref="NewLlmDataServiceCollectionExtensions.AddNewLlmData"/>),
    /// <see cref="TrainerOptions"/> (section <c>Trainer</c>) and <see cref="CurriculumOptions"/> (section <c>Curriculum</c>;
    /// its <c>DataDirectories</c> as a subsection of level names and folders).
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The NewLlm section, for example <c>builder.Configuration.GetSection("NewLlm")</c>.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddNewLlm(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services
            .AddNewLlmCore(configuration)
            .AddNewLlmData(configuration)
            .AddValidatedOptions<TrainerOptions, TrainerOptionsValidator>(configuration.GetSection("Trainer"))
            .AddValidatedOptions<CurriculumOptions, CurriculumOptionsValidator>(configuration.GetSection("Curriculum"));
    }
}
