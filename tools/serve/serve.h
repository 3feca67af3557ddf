/* serve.h: `szarc serve`, the archive-and-verification service
 * (docs/man/szarc-serve.1.scd, docs/api.md "The service"). The command line
 * (tools/cli) hands it its arguments; it returns the exit code. */
#ifndef SZARC_SERVE_H
#define SZARC_SERVE_H

/*! szarc_serve_main() :
 * argv: the arguments after "serve" (argc of them): the service's options,
 * or "token ROLE [NAME]". Runs until SIGTERM or SIGINT, then drains.
 * @return 0 after a clean stop; 2 for a usage or start-up error; 3 no usable
 *         model; 4 the device cannot be used. */
int szarc_serve_main(int argc, char **argv);

/*! szarc_serve_routes() : prints every route, "METHOD PATH" a line (for
 * the OpenAPI test). */
void szarc_serve_routes(void);

#endif
